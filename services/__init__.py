"""Services: the panel's work that spans records (assessment, policy figures, audit, security).

Screens and commands call these so a bulk action, a single button and a `flask` command all do
exactly the same thing, in one transaction, set-based.
"""

"""Bulk imports (pandas): schools from GIAS, areas and DTAs, pupils and applications.

Each import reads the whole file, checks every row in scope, and writes all or nothing in a few
set-based statements; `imports.report.ImportReport` says what happened, row by row.
"""

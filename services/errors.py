"""The one error type a service raises for a request it cannot carry out.

Its message is written for the user (screens show it as a form error or banner, commands print
it and exit 2), and raising it means nothing was changed: the service rolled back first.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; the message is for the user, nothing was changed."""


class FieldError(ServiceError):
    """A refusal about one input field: screens show it against that field (`field`, the
    model attribute), imports against that column, commands print it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

"""One exception family for every input the rules refuse, so callers catch one thing.

The command line turns a `RulesError` into exit status 2 and one line on standard error; the
panel can show `str(error)` next to the field it names.
"""

from __future__ import annotations


class RulesError(ValueError):
    """Facts that do not fit the contract, or a question the rules cannot answer.

    `field` is the path of the offending input (``applicants[2].sessions``), empty when the
    problem is the input as a whole.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[RulesError], tuple[str, str]]:
        return type(self), (self.field, self.message)

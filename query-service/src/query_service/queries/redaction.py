"""What the query log keeps of a query's parameters: the value of every personal field
(the contracts' personal fields, at any depth: a list filtered by a user's name or email,
a declared query's operators on them) replaced by REDACTED, so the log never keeps what
erasing a user destroys everywhere else."""

from typing import Any

from cqrs_contracts.events import PERSONAL_FIELDS

REDACTED = "[redacted]"
PERSONAL = frozenset().union(*PERSONAL_FIELDS.values())


def redacted(value: Any) -> Any:
    """`value` with every personal field's value (other than None) replaced by REDACTED."""
    if isinstance(value, dict):
        return {
            k: REDACTED if k in PERSONAL and v is not None else redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value

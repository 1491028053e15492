"""What every answer to bad input must look like: never a 5xx, never a stack trace or a
driver's name, every 4xx in the one error shape {"error": {code, message, details}}."""

import json
from dataclasses import dataclass, field
from typing import Any

# SQL fragments and MongoDB operators, tried in every field
INJECTIONS: list[Any] = [
    "' OR 1=1 --",
    "x'; DROP TABLE events; --",
    "1 UNION SELECT password FROM mysql.user",
    '{"$ne": null}',
    {"$ne": None},
    {"$gt": ""},
    {"$where": "sleep(1000) || true"},
    {"$regex": ".*"},
    ["$or", {"a": 1}],
]
# What an answer must never show: a stack trace, or the internals behind it
LEAKS = (
    "Traceback",
    'File "/',
    '.py", line',
    "sqlalchemy",
    "pymysql",
    "aiomysql",
    "pymongo",
    "OperationalError",
    "ProgrammingError",
    "site-packages",
)
ERROR_KEYS = {"code", "message", "details"}


def problem(status: int, text: str) -> str | None:
    """What is wrong with one answer, or None."""
    if status >= 500:
        return f"{status}: {text[:200]}"
    leaked = [word for word in LEAKS if word in text]
    if leaked:
        return f"{status} shows {leaked}: {text[:200]}"
    if 400 <= status < 500:
        try:
            body = json.loads(text)
        except ValueError:
            return f"{status} is not JSON: {text[:200]}"
        error = body.get("error") if isinstance(body, dict) else None
        if set(body) != {"error"} or not isinstance(error, dict) or set(error) != ERROR_KEYS:
            return f"{status} is not the error shape: {text[:200]}"
    return None


@dataclass
class Findings:
    """Answers seen per status, and every problem with the request that caused it."""

    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)  # operations that got an answer

    def saw(self, what: str, status: int, text: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        found = problem(status, text)
        if found is not None:
            self.problems.append(f"{what} -> {found}")

    @property
    def answers(self) -> int:
        return sum(self.statuses.values())

"""The configurable field rules of `cqrs.validation_rules`, applied to command data.

A rule set maps a group (user, order, payment) to fields and their rules:
required, min_length, max_length, format (email, uuid), min, max, enum.
Changing config.yaml changes the rules; no code change is needed.
"""

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict

from cqrs_contracts.errors import FieldError

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="ignore")

    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    enum: list[str] | None = None


RuleSet = dict[str, dict[str, FieldRule]]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_FORMATS = {"email": lambda v: bool(_EMAIL.match(v)), "uuid": _is_uuid}


def _check_number(field: str, value: Any, rule: FieldRule) -> list[FieldError]:
    if isinstance(value, bool):
        return [FieldError(field=field, message="must be a number", rule="type")]
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return [FieldError(field=field, message="must be a number", rule="type")]
    if not number.is_finite():
        return [FieldError(field=field, message="must be a finite number", rule="type")]
    if rule.min is not None and number < rule.min:
        return [FieldError(field=field, message=f"must be at least {rule.min}", rule="min")]
    if rule.max is not None and number > rule.max:
        return [FieldError(field=field, message=f"must be at most {rule.max}", rule="max")]
    return []


def _check_text(field: str, value: str, rule: FieldRule) -> list[FieldError]:
    length = len(value)
    if rule.min_length is not None and length < rule.min_length:
        msg = f"must be at least {rule.min_length} characters"
        return [FieldError(field=field, message=msg, rule="min_length")]
    if rule.max_length is not None and length > rule.max_length:
        msg = f"must be at most {rule.max_length} characters"
        return [FieldError(field=field, message=msg, rule="max_length")]
    if rule.format is not None:
        check = _FORMATS.get(rule.format)
        if check is not None and not check(value):
            return [
                FieldError(field=field, message=f"must be a valid {rule.format}", rule="format")
            ]
    if rule.enum is not None and value not in rule.enum:
        msg = f"must be one of {', '.join(rule.enum)}"
        return [FieldError(field=field, message=msg, rule="enum")]
    return []


def check_field(field: str, value: Any, rule: FieldRule) -> list[FieldError]:
    """The errors of one present value against its rule (at most one per field)."""
    if rule.min is not None or rule.max is not None:
        return _check_number(field, value, rule)
    if not isinstance(value, str):
        return [FieldError(field=field, message="must be a string", rule="type")]
    return _check_text(field, value, rule)


def apply_rules(
    data: dict[str, Any], rules: dict[str, FieldRule], partial: bool
) -> list[FieldError]:
    """Every field error of `data`; `partial` skips `required` (updates)."""
    errors: list[FieldError] = []
    for field, rule in rules.items():
        value = data.get(field)
        if value is None or value == "":
            if rule.required and not partial:
                errors.append(FieldError(field=field, message="is required", rule="required"))
            continue
        errors.extend(check_field(field, value, rule))
    return errors

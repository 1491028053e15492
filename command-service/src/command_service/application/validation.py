"""Turn a raw command body into its typed contract, or a list of field errors."""

from typing import Any

from pydantic import ValidationError

from command_service.application.command_handlers import CommandSpec
from cqrs_contracts.errors import FieldError
from cqrs_contracts.validation import FieldRule, apply_rules


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "data"


def parse_command(
    spec: CommandSpec,
    data: dict[str, Any],
    rules: dict[str, dict[str, FieldRule]] | None,
) -> tuple[Any, list[FieldError]]:
    """The contract instance (or None) and every field error, at most one per field.

    `rules` is `cqrs.validation_rules` when validation is enabled, else None."""
    errors: dict[str, FieldError] = {}
    contract = spec.contract
    data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
    if spec.check is not None:
        errors.update((e.field, e) for e in spec.check(data))
    elif rules is not None and contract.RULES and contract.RULES in rules:
        for error in apply_rules(data, rules[contract.RULES], partial=contract.PARTIAL):
            errors.setdefault(error.field, error)
    try:
        parsed = contract.model_validate(data)
    except ValidationError as invalid:
        for item in invalid.errors():
            name = _field_name(item["loc"])
            errors.setdefault(name, FieldError(field=name, message=item["msg"], rule=item["type"]))
        parsed = None
    return parsed, sorted(errors.values(), key=lambda e: e.field)

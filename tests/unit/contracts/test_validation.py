"""The configurable field rules of `cqrs.validation_rules`, as configs/config.yaml has them."""

import uuid
from typing import Any

import pytest

from cqrs_contracts.settings import Settings, load_settings
from cqrs_contracts.validation import FieldRule, apply_rules, check_field
from tests.unit.contracts.conftest import CONFIG

VALID: dict[str, dict[str, Any]] = {
    "user": {"name": "Ada", "email": "ada@example.com", "age": 36},
    "order": {"user_id": str(uuid.uuid4()), "amount": "10.00", "currency": "USD"},
    "payment": {
        "order_id": str(uuid.uuid4()),
        "amount": "10.00",
        "currency": "USD",
        "method": "credit_card",
    },
}


@pytest.fixture(scope="module")
def rules(settings: Settings) -> dict[str, Any]:
    return settings.cqrs.validation_rules


def broken(rules: dict[str, Any], group: str, **changes: Any) -> list[tuple[str, str | None]]:
    """(field, rule) of each error of the group's valid data with `changes` applied."""
    data = {**VALID[group], **changes}
    return [(e.field, e.rule) for e in apply_rules(data, rules[group], partial=False)]


@pytest.mark.parametrize("group", ["user", "order", "payment"])
def test_valid_data_has_no_errors(rules: dict[str, Any], group: str) -> None:
    assert broken(rules, group) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A", [("name", "min_length")]),
        ("Al", []),
        ("x" * 100, []),
        ("x" * 101, [("name", "max_length")]),
        (42, [("name", "type")]),
    ],
)
def test_user_name_is_2_to_100_characters(rules: dict[str, Any], name: Any, expected: list) -> None:
    assert broken(rules, "user", name=name) == expected


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("ada@example.com", True),
        ("ada.lovelace+tag@mail.example.co.uk", True),
        ("ada", False),
        ("ada@example", False),
        ("@example.com", False),
        ("ada@exa mple.com", False),
        ("ada@example.c", False),
    ],
)
def test_user_email_must_be_an_email(rules: dict[str, Any], email: str, ok: bool) -> None:
    assert broken(rules, "user", email=email) == ([] if ok else [("email", "format")])


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (17, [("age", "min")]),
        (18, []),
        (120, []),
        (121, [("age", "max")]),
        ("30", []),
        ("thirty", [("age", "type")]),
        (True, [("age", "type")]),
    ],
)
def test_user_age_is_18_to_120(rules: dict[str, Any], age: Any, expected: list) -> None:
    assert broken(rules, "user", age=age) == expected


@pytest.mark.parametrize(("group", "field"), [("order", "user_id"), ("payment", "order_id")])
@pytest.mark.parametrize(
    ("value", "ok"), [(str(uuid.uuid4()), True), ("not-a-uuid", False), ("1234", False)]
)
def test_ids_must_be_uuids(
    rules: dict[str, Any], group: str, field: str, value: str, ok: bool
) -> None:
    assert broken(rules, group, **{field: value}) == ([] if ok else [(field, "format")])


@pytest.mark.parametrize("group", ["order", "payment"])
@pytest.mark.parametrize(
    ("amount", "ok"), [("0.01", True), (5, True), ("0.00", False), ("0.009", False), (-1, False)]
)
def test_amount_is_at_least_one_cent(
    rules: dict[str, Any], group: str, amount: Any, ok: bool
) -> None:
    assert broken(rules, group, amount=amount) == ([] if ok else [("amount", "min")])


@pytest.mark.parametrize("group", ["order", "payment"])
@pytest.mark.parametrize(
    ("currency", "ok"),
    [("USD", True), ("EUR", True), ("GBP", True), ("INR", True), ("usd", False), ("JPY", False)],
)
def test_currency_is_one_of_the_configured(
    rules: dict[str, Any], group: str, currency: str, ok: bool
) -> None:
    assert broken(rules, group, currency=currency) == ([] if ok else [("currency", "enum")])


@pytest.mark.parametrize(
    ("method", "ok"),
    [
        ("credit_card", True),
        ("debit_card", True),
        ("net_banking", True),
        ("upi", True),
        ("wallet", True),
        ("cash", False),
        ("UPI", False),
    ],
)
def test_payment_method_is_one_of_the_configured(
    rules: dict[str, Any], method: str, ok: bool
) -> None:
    assert broken(rules, "payment", method=method) == ([] if ok else [("method", "enum")])


@pytest.mark.parametrize("group", ["user", "order", "payment"])
def test_every_configured_field_is_required_on_create(rules: dict[str, Any], group: str) -> None:
    errors = apply_rules({}, rules[group], partial=False)

    assert [(e.field, e.rule) for e in errors] == [(f, "required") for f in rules[group]]


def test_an_empty_string_counts_as_missing(rules: dict[str, Any]) -> None:
    assert broken(rules, "user", name="") == [("name", "required")]


@pytest.mark.parametrize("group", ["user", "order", "payment"])
def test_partial_updates_skip_required_but_check_what_they_carry(
    rules: dict[str, Any], group: str
) -> None:
    assert apply_rules({}, rules[group], partial=True) == []

    errors = apply_rules({"amount": "0", "name": "A"}, rules[group], partial=True)
    assert len(errors) == 1
    assert errors[0].field in {"amount", "name"}


def test_one_error_per_field(rules: dict[str, Any]) -> None:
    data = {"name": 7, "email": "x", "age": 5}

    errors = apply_rules(data, rules["user"], partial=False)

    assert [(e.field, e.rule) for e in errors] == [
        ("name", "type"),
        ("email", "format"),
        ("age", "min"),
    ]


def test_a_value_breaking_several_constraints_gets_only_the_first_error() -> None:
    rule = FieldRule(min_length=10, format="email", enum=["someone@example.com"])

    assert [(e.field, e.rule) for e in check_field("email", "bad", rule)] == [
        ("email", "min_length")
    ]


def test_unknown_fields_and_unknown_formats_are_ignored(rules: dict[str, Any]) -> None:
    assert broken(rules, "user", nickname="x") == []
    assert check_field("code", "anything", FieldRule(format="isbn")) == []


def test_changed_rules_change_the_outcome_without_code_change(rules: dict[str, Any]) -> None:
    data = {"name": "Ada", "email": "ada@example.com"}
    assert apply_rules(data, rules["user"], partial=True) == []

    stricter = {
        **rules["user"],
        "name": FieldRule.model_validate({"required": True, "min_length": 5}),
        "email": FieldRule.model_validate({"enum": ["bo@example.com"]}),
    }

    errors = apply_rules(data, stricter, partial=True)
    assert [(e.field, e.rule) for e in errors] == [("name", "min_length"), ("email", "enum")]


def test_a_rule_overridden_from_the_environment_applies() -> None:
    env = {"CQRS__CQRS__VALIDATION_RULES__USER__AGE__MIN": "21"}
    rules = load_settings(CONFIG, env=env).cqrs.validation_rules

    assert broken(rules, "user", age=20) == [("age", "min")]
    assert broken(rules, "user", age=21) == []


@pytest.mark.parametrize("value", ["NaN", "sNaN", float("nan")])
def test_not_a_number_is_a_type_error_not_a_crash(value: Any) -> None:
    # Decimal("NaN") parses, but ordering comparisons with NaN raise InvalidOperation.
    errors = check_field("age", value, FieldRule(min=18, max=120))

    assert [(e.field, e.rule) for e in errors] == [("age", "type")]

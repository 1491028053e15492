"""Configuration changes behaviour without code: rules, the validation switch and the
supported command types, set through an environment override or an edited config file."""

from collections.abc import Callable
from pathlib import Path

from litestar.testing import AsyncTestClient

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import Settings, default_config_path, load_settings
from tests.integration.command_service.helpers import (
    command,
    create_user,
    error_of,
    field_rules,
    unique_email,
)


def user(**data: object) -> dict[str, object]:
    return {"name": "Jane Roe", "email": unique_email(), "age": 30} | data


async def test_age_19_is_accepted_by_default(client: AsyncTestClient) -> None:
    answer = await create_user(client, age=19)
    assert answer["events"][0]["data"]["age"] == 19


async def test_a_raised_minimum_age_refuses_19(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(CQRS__CQRS__VALIDATION_RULES__USER__AGE__MIN="21")
    async with AsyncTestClient(app=create_app(settings)) as c:
        assert field_rules(await command(c, "CreateUser", user(age=19))) == {"age": "min"}
        assert (await command(c, "CreateUser", user(age=21))).status_code == 200
        # UpdateUser uses the same rule group
        user_id = (await create_user(c))["aggregate_id"]
        update = await command(c, "UpdateUser", {"id": user_id, "age": 20})
        assert field_rules(update) == {"age": "min"}


async def test_validation_switched_off_lets_a_short_name_through(
    client: AsyncTestClient, make_settings: Callable[..., Settings]
) -> None:
    assert field_rules(await command(client, "CreateUser", user(name="J"))) == {
        "name": "min_length"
    }
    settings = make_settings(CQRS__CQRS__VALIDATION_ENABLED="false")
    async with AsyncTestClient(app=create_app(settings)) as c:
        answer = await create_user(c, name="J")
        assert answer["events"][0]["data"]["name"] == "J"


async def test_a_command_type_left_out_of_the_config_is_unknown(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(CQRS__CQRS__SUPPORTED_COMMAND_TYPES="CreateUser,UpdateUser")
    async with AsyncTestClient(app=create_app(settings)) as c:
        user_id = (await create_user(c))["aggregate_id"]
        error = error_of(await command(c, "DeleteUser", {"id": user_id}), 400)
        assert error["code"] == "unknown_type"
        assert error["details"]["supported"] == ["CreateUser", "UpdateUser"]
        assert (await command(c, "UpdateUser", {"id": user_id, "age": 44})).status_code == 200


async def test_an_edited_config_file_changes_the_rule(
    client: AsyncTestClient, service_env: dict[str, str], tmp_path: Path
) -> None:
    text = default_config_path().read_text()
    age = "      age:\n        required: true\n        min: 18\n"
    assert text.count(age) == 1, "configs/config.yaml no longer holds the user age rule"
    edited = tmp_path / "config.yaml"
    edited.write_text(text.replace(age, age.replace("min: 18", "min: 25")))

    settings = load_settings(path=edited, env=service_env)
    async with AsyncTestClient(app=create_app(settings)) as c:
        assert field_rules(await command(c, "CreateUser", user(age=24))) == {"age": "min"}
        assert (await command(c, "CreateUser", user(age=25))).status_code == 200
    # the file as shipped still lets 24 through
    assert (await command(client, "CreateUser", user(age=24))).status_code == 200

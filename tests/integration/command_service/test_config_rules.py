"""Configuration changes behaviour without code: rules, the validation switch and the
supported command types, each set through an environment override."""

from collections.abc import Callable

from litestar.testing import AsyncTestClient

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import Settings
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

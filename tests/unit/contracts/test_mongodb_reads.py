"""database.mongodb.read_preference and read_concern: the query-service's reads on a
replica set, checked when the settings load (a bad value never reaches the driver)."""

import pytest
from pydantic import ValidationError

from cqrs_contracts.settings import Settings, load_settings, load_settings_or_exit
from tests.unit.contracts.conftest import CONFIG


def test_reads_go_to_the_primary_and_see_local_data_by_default(settings: Settings) -> None:
    assert settings.database.mongodb.read_preference == "primary"
    assert settings.database.mongodb.read_concern == "local"


@pytest.mark.parametrize(
    "preference", ["primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"]
)
def test_every_driver_read_preference_is_taken_from_the_environment(preference: str) -> None:
    env = {"CQRS__DATABASE__MONGODB__READ_PREFERENCE": preference}

    assert load_settings(CONFIG, env=env).database.mongodb.read_preference == preference


def test_the_read_concern_is_taken_from_the_environment() -> None:
    env = {"CQRS__DATABASE__MONGODB__READ_CONCERN": "majority"}

    assert load_settings(CONFIG, env=env).database.mongodb.read_concern == "majority"


def test_a_misspelt_read_preference_is_refused_naming_the_valid_ones() -> None:
    env = {"CQRS__DATABASE__MONGODB__READ_PREFERENCE": "secondary_preferred"}

    with pytest.raises(ValidationError) as raised:
        load_settings(CONFIG, env=env)

    (error,) = raised.value.errors()
    assert error["loc"] == ("database", "mongodb", "read_preference")
    assert "'secondaryPreferred'" in error["msg"]


def test_a_read_concern_the_driver_has_not_is_refused() -> None:
    with pytest.raises(ValidationError, match="read_concern"):
        load_settings(CONFIG, env={"CQRS__DATABASE__MONGODB__READ_CONCERN": "strong"})


def test_linearizable_reads_are_refused_away_from_the_primary() -> None:
    env = {
        "CQRS__DATABASE__MONGODB__READ_CONCERN": "linearizable",
        "CQRS__DATABASE__MONGODB__READ_PREFERENCE": "nearest",
    }

    with pytest.raises(ValidationError, match="served by the primary only"):
        load_settings(CONFIG, env=env)
    env["CQRS__DATABASE__MONGODB__READ_PREFERENCE"] = "primary"
    assert load_settings(CONFIG, env=env).database.mongodb.read_concern == "linearizable"


def test_the_command_line_names_the_bad_read_preference_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CQRS_CONFIG", str(CONFIG))
    monkeypatch.setenv("CQRS__DATABASE__MONGODB__READ_PREFERENCE", "secundary")

    with pytest.raises(SystemExit) as exited:
        load_settings_or_exit()

    message = str(exited.value.code)
    assert message.startswith("configuration error: database.mongodb.read_preference: ")
    assert message.endswith("(got 'secundary')")
    assert "\n" not in message

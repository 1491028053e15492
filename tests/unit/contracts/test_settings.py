"""Settings: configs/config.yaml, then environment overrides."""

import pytest

from cqrs_contracts.settings import Settings, load_settings, parse_duration
from tests.unit.contracts.conftest import CONFIG


def test_yaml_values_are_loaded(settings: Settings) -> None:
    assert settings.database.mysql.port == 3306
    assert settings.database.mysql.url() == (
        "mysql+aiomysql://cqrs:cqrs_password@127.0.0.1:3306/cqrs_db?charset=utf8mb4"
    )
    assert settings.database.mongodb.uri == "mongodb://127.0.0.1:27017"
    assert settings.kafka.brokers == ["127.0.0.1:9092"]
    assert settings.kafka.topic == "cqrs-events"
    assert settings.cqrs.metadata["environment"] == "development"
    assert "ProcessPayment" in settings.cqrs.supported_command_types


def test_yaml_durations_become_seconds(settings: Settings) -> None:
    assert settings.server.read_timeout == 30.0
    assert settings.server.idle_timeout == 120.0
    assert settings.cqrs.cleanup_interval == 3600.0
    assert settings.kafka.consumer_timeout == 10.0


def test_keys_absent_from_yaml_keep_their_defaults(settings: Settings) -> None:
    assert settings.command_service.snapshot_every == 50


def test_short_names_override_the_yaml() -> None:
    env = {
        "DB_HOST": "db.internal",
        "DB_PORT": "3307",
        "KAFKA_BROKERS": "k1:9092, k2:9092,",
        "REDIS_URL": "redis://cache:6379/1",
    }
    settings = load_settings(CONFIG, env=env)

    assert (settings.database.mysql.host, settings.database.mysql.port) == ("db.internal", 3307)
    assert settings.kafka.brokers == ["k1:9092", "k2:9092"]
    assert settings.kafka.bootstrap == "k1:9092,k2:9092"
    assert settings.redis.url == "redis://cache:6379/1"


def test_empty_short_names_are_ignored() -> None:
    assert load_settings(CONFIG, env={"DB_PORT": ""}).database.mysql.port == 3306


def test_nested_override() -> None:
    env = {"CQRS__COMMAND_SERVICE__SNAPSHOT_EVERY": "7"}

    assert load_settings(CONFIG, env=env).command_service.snapshot_every == 7


def test_nested_override_wins_over_the_short_name() -> None:
    env = {"DB_PORT": "3307", "CQRS__DATABASE__MYSQL__PORT": "3308"}

    assert load_settings(CONFIG, env=env).database.mysql.port == 3308


def test_nested_override_of_a_duration() -> None:
    env = {"CQRS__COMMAND_SERVICE__REQUEST_TIMEOUT": "250ms"}

    assert load_settings(CONFIG, env=env).command_service.request_timeout == 0.25


def test_nested_override_of_a_list_is_comma_separated() -> None:
    # The module docstring promises "lists as comma-separated values" for CQRS__ overrides.
    env = {"CQRS__CQRS__SUPPORTED_EVENT_TYPES": "UserCreated,UserDeleted"}

    assert load_settings(CONFIG, env=env).cqrs.supported_event_types == [
        "UserCreated",
        "UserDeleted",
    ]


def test_other_environment_variables_are_ignored() -> None:
    assert load_settings(CONFIG, env={"PORT": "1", "CQRS_CONFIG": "x"}).database.mysql.port == 3306


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1h", 3600.0),
        ("30s", 30.0),
        ("250ms", 0.25),
        ("1.5m", 90.0),
        ("2d", 172800.0),
        ("30", 30.0),
        (" 5 s ", 5.0),
        (30, 30.0),
        (0.5, 0.5),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "1w", "-1s", ""])
def test_bad_durations_raise(value: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)

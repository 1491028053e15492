"""Settings: configs/config.yaml, then environment overrides."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from cqrs_contracts.settings import (
    Settings,
    UnknownSettingError,
    check_tree,
    load_settings,
    parse_duration,
)
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


# --- unknown keys are refused, config.yaml is the whole model --------------------------

_MISSING = object()

# Keys whose config.yaml value is the product's own configuration, not the model's default
# (the original service's types, rules and metadata; the model defaults to none).
_CONFIGURED = {
    ("cqrs", "description"),
    ("cqrs", "supported_command_types"),
    ("cqrs", "supported_query_types"),
    ("cqrs", "supported_event_types"),
    ("cqrs", "supported_read_model_types"),
    ("cqrs", "validation_rules"),
    ("cqrs", "metadata"),
    ("database", "mysql", "replicas"),  # the local replica; none by default
    ("database", "mysql", "shards"),  # the local second shard; none by default
}


def _leaves(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaves(annotation, (*path, name))
        else:
            yield (*path, name)


def _yaml() -> dict[str, Any]:
    tree: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return tree


def test_config_yaml_lists_every_setting_with_its_default() -> None:
    tree, loaded, defaults = _yaml(), load_settings(CONFIG, env={}), Settings()
    missing, different = [], []
    for path in _leaves(Settings):
        node: Any = tree
        for key in path:
            node = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if node is _MISSING:
            missing.append(".".join(path))
            continue
        value, default = loaded, defaults
        for key in path:
            value, default = getattr(value, key), getattr(default, key)
        if path not in _CONFIGURED and value != default:
            different.append(f"{'.'.join(path)}: {value!r} != {default!r}")
    assert (missing, different) == ([], []), f"missing: {missing}; different: {different}"


def test_every_key_of_config_yaml_is_a_setting() -> None:
    def walk(node: Any, model: type[BaseModel], path: str) -> Iterator[str]:
        for key, value in node.items():
            field = model.model_fields.get(key)
            if field is None:
                yield f"{path}{key}"
            elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                yield from walk(value, field.annotation, f"{path}{key}.")

    assert list(walk(_yaml(), Settings, "")) == []
    check_tree(_yaml(), str(CONFIG))  # the free maps' contents too (validation rules)


def _write(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    tree = _yaml()
    change(tree)
    file = tmp_path / "config.yaml"
    file.write_text(yaml.safe_dump(tree))
    return file


def test_a_misspelt_yaml_key_is_refused_with_the_file_and_the_nearest_key(
    tmp_path: Path,
) -> None:
    file = _write(tmp_path, lambda t: t["security"].update(auth_enabeld=True))

    with pytest.raises(UnknownSettingError) as raised:
        load_settings(file, env={})

    assert raised.value.source == str(file)
    assert raised.value.key == "security.auth_enabeld"
    assert raised.value.suggestion == "security.auth_enabled"
    assert str(file) in str(raised.value)
    assert "security.auth_enabled" in str(raised.value)


def test_a_misspelt_yaml_section_is_refused(tmp_path: Path) -> None:
    file = _write(tmp_path, lambda t: t.update(securty={"auth_enabled": True}))

    with pytest.raises(UnknownSettingError, match=r"'securty'.*did you mean 'security'"):
        load_settings(file, env={})


def test_a_misspelt_rule_inside_a_free_map_is_refused(tmp_path: Path) -> None:
    file = _write(tmp_path, lambda t: t["cqrs"]["validation_rules"]["user"]["age"].update(mni=1))

    with pytest.raises(UnknownSettingError) as raised:
        load_settings(file, env={})

    assert raised.value.key == "cqrs.validation_rules.user.age.mni"
    assert raised.value.suggestion == "cqrs.validation_rules.user.age.min"


def test_free_maps_take_any_key(tmp_path: Path) -> None:
    def change(tree: dict[str, Any]) -> None:
        tree["cqrs"]["validation_rules"]["invoice"] = {"number": {"required": True}}
        tree["cqrs"]["metadata"]["owner"] = "payments"
        tree["system"]["services"]["audit"] = ["http://127.0.0.1:8009"]

    settings = load_settings(_write(tmp_path, change), env={})

    assert settings.cqrs.validation_rules["invoice"]["number"].required
    assert settings.cqrs.metadata["owner"] == "payments"
    assert settings.system.services["audit"] == ["http://127.0.0.1:8009"]


def test_a_misspelt_section_variable_is_refused_with_the_nearest_variable() -> None:
    with pytest.raises(UnknownSettingError) as raised:
        load_settings(CONFIG, env={"CQRS__SECURTY__AUTH_ENABLED": "true"})

    assert raised.value.source == "CQRS__SECURTY__AUTH_ENABLED"
    assert raised.value.suggestion == "CQRS__SECURITY__AUTH_ENABLED"
    assert "CQRS__SECURTY__AUTH_ENABLED" in str(raised.value)
    assert "did you mean 'CQRS__SECURITY__AUTH_ENABLED'" in str(raised.value)


def test_a_misspelt_key_variable_is_refused_with_the_nearest_variable() -> None:
    with pytest.raises(UnknownSettingError) as raised:
        load_settings(CONFIG, env={"CQRS__COMMAND_SERVICE__SNAPSHOT_EVRY": "7"})

    assert raised.value.suggestion == "CQRS__COMMAND_SERVICE__SNAPSHOT_EVERY"


def test_a_variable_below_a_value_is_refused() -> None:
    with pytest.raises(UnknownSettingError, match="not a section"):
        load_settings(CONFIG, env={"CQRS__DATABASE__MYSQL__PORT__X": "1"})


def test_variables_into_free_maps_are_taken() -> None:
    env = {
        "CQRS__SYSTEM__SERVICES__COMMAND": "http://a:8001,http://b:8001",
        "CQRS__CQRS__VALIDATION_RULES__USER__AGE__MIN": "21",
        "CQRS__SECURITY__TRUSTED_PROXIES": "10.0.0.0/8",
        "CQRS__LOCAL__GATEWAY_PORT": "8090",
    }

    settings = load_settings(CONFIG, env=env)

    assert settings.system.services["command"] == ["http://a:8001", "http://b:8001"]
    assert settings.cqrs.validation_rules["user"]["age"].min == 21
    assert settings.security.trusted_proxies == ["10.0.0.0/8"]
    assert settings.local.gateway_port == 8090


def test_a_list_variable_is_split_without_a_list_in_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("{}\n")

    settings = load_settings(file, env={"CQRS__WEBHOOKS__ALLOWED_HOSTS": "a.internal, b"})

    assert settings.webhooks.allowed_hosts == ["a.internal", "b"]


def test_the_command_line_exits_with_one_line_naming_the_variable() -> None:
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "CQRS__SECURTY__AUTH_ENABLED": "true", "CQRS_CONFIG": str(CONFIG)}

    done = subprocess.run(
        [str(Path(sys.executable).parent / "command-service"), "serve"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "configuration error: CQRS__SECURTY__AUTH_ENABLED: unknown setting 'securty'; "
        "did you mean 'CQRS__SECURITY__AUTH_ENABLED'?"
    ]

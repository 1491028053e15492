"""docker-compose.yml: valid against the Compose Specification's own JSON schema (vendored
from compose-go, see schemas/README.md), and wired the way `docker compose up` needs:
every long-running container health-checked and waited for, builds from real
Dockerfiles, the gateway rendering the one nginx template, settings the services accept."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cqrs_contracts.settings import Settings, apply_env
from tests.unit.deploy.dockerfile import read_stages

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())
TEMPLATE = ROOT / "deploy" / "gateway" / "nginx.conf.template"
APP_SERVICES = ("command-service", "projector", "query-service")
PRIMARY, REPLICA, SHARD = "mariadb", "mariadb-replica", "mariadb-shard-1"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _services() -> dict[str, Any]:
    return _compose()["services"]


def _interpolated(value: str) -> str:
    """Compose interpolation with nothing set in the environment: defaults, `$$` -> `$`."""
    value = re.sub(r"(?<!\$)\$\{\w+:-([^}]*)\}", r"\1", value)
    return value.replace("$$", "$")


def _environment(service: str) -> dict[str, str]:
    env = _services()[service].get("environment", {})
    return {k: _interpolated(str(v)) for k, v in env.items()}


def _one_shots() -> set[str]:
    """Services others wait for to finish (service_completed_successfully)."""
    return {
        target
        for spec in _services().values()
        for target, dep in spec.get("depends_on", {}).items()
        if dep["condition"] == "service_completed_successfully"
    }


def _schema_errors(document: dict[str, Any]) -> dict[str, str]:
    """Where the document breaks the schema (dotted path) -> why."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return {".".join(map(str, e.absolute_path)): e.message for e in validator.iter_errors(document)}


def _exposed_port(service: str) -> int:
    build = _services()[service]["build"]
    return int(read_stages(ROOT / build["dockerfile"])[-1].last("EXPOSE").args)


def test_compose_file_matches_the_compose_specification() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert _schema_errors(_compose()) == {}


def test_the_schema_check_rejects_what_compose_would_reject() -> None:
    broken = _compose()
    broken["services"]["query-service"]["deploy"]["replica"] = 2
    broken["services"]["redis"]["healthcheck"]["interval"] = 5
    broken["services"]["gateway"]["depends_on"]["projector"]["condition"] = "service_ready"
    errors = _schema_errors(broken)
    assert "'replica'" in errors["services.query-service.deploy"]
    assert "is not of type 'string'" in errors["services.redis.healthcheck.interval"]
    assert "service_ready" in errors["services.gateway.depends_on"]


def test_every_long_running_container_is_health_checked() -> None:
    one_shots = _one_shots()
    assert one_shots == {"kafka-init"}
    for name, spec in _services().items():
        if name in one_shots:
            assert spec["restart"] == "no"
            continue
        assert spec["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert spec["restart"] == "unless-stopped", name


def test_every_dependency_exists_and_is_waited_for() -> None:
    services = _services()
    one_shots = _one_shots()
    for name, spec in services.items():
        for target, dep in spec.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            expected = (
                "service_completed_successfully" if target in one_shots else "service_healthy"
            )
            assert dep["condition"] == expected, f"{name} -> {target}"
    assert set(services["gateway"]["depends_on"]) == set(APP_SERVICES)


def test_query_service_runs_two_replicas() -> None:
    assert _services()["query-service"]["deploy"]["replicas"] == 2


@pytest.mark.parametrize("service", APP_SERVICES)
def test_services_build_from_the_workspace_root_with_their_dockerfile(service: str) -> None:
    spec = _services()[service]
    assert spec["build"]["context"] == "."
    assert spec["build"]["dockerfile"] == f"deploy/docker/{service}.Dockerfile"
    assert (ROOT / spec["build"]["dockerfile"]).is_file()
    assert spec["image"].startswith(f"cqrs/{service}:")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_health_checks_call_the_port_the_image_serves(service: str) -> None:
    check = " ".join(_services()[service]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{_exposed_port(service)}/" in check


@pytest.mark.parametrize("service", APP_SERVICES)
def test_services_accept_their_environment(service: str) -> None:
    config = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text())
    settings = Settings.model_validate(apply_env(config, _environment(service)))
    services = _services()
    primary = _environment(settings.database.mysql.host)
    assert settings.database.mysql.username == primary["MARIADB_USER"]
    assert settings.database.mysql.password == primary["MARIADB_PASSWORD"]
    assert settings.database.mysql.database == primary["MARIADB_DATABASE"]
    assert [(r.host, r.port) for r in settings.database.mysql.replicas] == [(REPLICA, 3306)]
    assert [(s.host, s.port) for s in settings.database.mysql.shards] == [(SHARD, 3306)]
    assert [b.split(":")[0] for b in settings.kafka.brokers] == ["kafka"]
    assert settings.database.mongodb.uri == "mongodb://mongodb:27017"
    assert settings.redis.url.startswith("redis://redis:6379/")
    assert settings.security.auth_enabled is True
    assert "${JWT_SECRET" in services[service]["environment"]["CQRS__SECURITY__JWT_SECRET"]
    for urls in settings.system.services.values():
        for url in urls:
            host, port = url.removeprefix("http://").split(":")
            assert int(port) == _exposed_port(host)


def test_command_service_migrates_before_the_projector_starts() -> None:
    services = _services()
    assert _environment("command-service")["CQRS__COMMAND_SERVICE__MIGRATE_ON_START"] == "true"
    assert "command-service" in services["projector"]["depends_on"]


def test_kafka_runs_in_kraft_mode_and_the_topics_are_created() -> None:
    services = _services()
    config = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text())["kafka"]
    kafka = _environment("kafka")
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not [n for n in services if "zookeeper" in n]
    assert not [k for k in kafka if "ZOOKEEPER" in k]
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    script = _interpolated(services["kafka-init"]["command"][0])
    assert f"--partitions {config['partitions']}" in script
    loop = re.search(r"for topic in ([^;]+);", script)
    assert loop is not None
    assert loop.group(1).split() == [config["topic"], config["dlq_topic"]]


def test_gateway_renders_the_shared_template_with_its_variables() -> None:
    gateway = _services()["gateway"]
    source, target, mode = gateway["volumes"][0].split(":")
    assert (ROOT / source).resolve() == TEMPLATE
    assert mode == "ro"
    script = _interpolated(gateway["command"][0])
    assert f"< {target} " in script
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    envsubst = re.search(r"envsubst '([^']+)'", script)
    assert envsubst is not None
    assert set(re.findall(r"\$\{([A-Z_]+)\}", envsubst.group(1))) == placeholders
    native = (ROOT / "deploy" / "local" / "nginx.sh").read_text()
    native_call = re.search(r"envsubst \"([^\"]+)\"", native)
    assert native_call is not None
    assert set(re.findall(r"\{([A-Z_]+)\}", native_call.group(1))) == placeholders
    assert placeholders <= set(gateway["environment"])


def test_gateway_serves_the_console_folder() -> None:
    gateway = _services()["gateway"]
    mounts = [v.split(":") for v in gateway["volumes"]]
    (target,) = [t for s, t, _ in mounts if (ROOT / s).resolve() == ROOT / "console"]
    assert _environment("gateway")["CONSOLE_DIR"] == target


def test_gateway_upstreams_name_each_service_on_its_port() -> None:
    env = _environment("gateway")
    upstreams = {
        "COMMAND_UPSTREAMS": "command-service",
        "QUERY_UPSTREAMS": "query-service",
        "PROJECTOR_UPSTREAMS": "projector",
    }
    for variable, service in upstreams.items():
        servers = re.findall(r"server ([\w.-]+):(\d+);", env[variable])
        assert servers == [(service, str(_exposed_port(service)))], variable


def test_gateway_is_published_on_8080() -> None:
    services = _services()
    assert services["gateway"]["ports"] == ["8080:8080"]
    assert _environment("gateway")["GATEWAY_LISTEN"] == "8080"
    assert "http://127.0.0.1:8080/gateway/health" in services["gateway"]["healthcheck"]["test"]
    published = [name for name, spec in services.items() if spec.get("ports")]
    assert published == ["gateway", "prometheus", "grafana"]  # the API; the monitoring UIs
    assert services["prometheus"]["ports"] == ["9090:9090"]
    assert services["grafana"]["ports"] == ["3000:3000"]


def _flags(service: str) -> set[str]:
    return set(_services()[service]["command"])


def test_the_event_store_primary_writes_a_row_based_binlog_for_its_replica() -> None:
    assert {"--log-bin", "--server-id=1", "--binlog-format=ROW", "--log-slave-updates"} <= (
        _flags(PRIMARY)
    )
    env = _environment(PRIMARY)
    assert env["MARIADB_REPLICATION_USER"]
    assert env["MARIADB_REPLICATION_PASSWORD"]
    assert "MARIADB_MASTER_HOST" not in env


def test_one_read_replica_replicates_from_the_primary_by_gtid() -> None:
    services = _services()
    replicas = [n for n in services if "MARIADB_MASTER_HOST" in _environment(n)]
    assert replicas == [REPLICA]
    primary, replica = services[PRIMARY], services[REPLICA]
    # the official image's CHANGE MASTER TO sets no log coordinates: from 10.5.1 that is
    # GTID replication (Slave_Pos); both run the same server
    assert replica["image"] == primary["image"]
    name, version = primary["image"].split(":")
    assert name == "mariadb"
    assert tuple(int(p) for p in version.split(".")[:2]) >= (10, 5)
    env, source = _environment(REPLICA), _environment(PRIMARY)
    assert (env["MARIADB_MASTER_HOST"], env["MARIADB_MASTER_PORT"]) == (PRIMARY, "3306")
    for key in ("MARIADB_REPLICATION_USER", "MARIADB_REPLICATION_PASSWORD"):
        assert env[key] == source[key], key
    assert "--read-only" in _flags(REPLICA)
    ids = {f for f in _flags(PRIMARY) | _flags(REPLICA) if f.startswith("--server-id=")}
    assert ids == {"--server-id=1", "--server-id=2"}
    assert replica["depends_on"] == {PRIMARY: {"condition": "service_healthy"}}


def test_the_replica_is_healthy_while_it_replicates_on_its_own_volume() -> None:
    services = _services()
    check = services[REPLICA]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "healthcheck.sh"]
    assert {"--replication_io", "--replication_sql"} <= set(check)
    assert "REPLICA MONITOR" in _environment(REPLICA)["MARIADB_HEALTHCHECK_GRANTS"]
    volumes = {v.split(":")[0] for name in (PRIMARY, REPLICA) for v in services[name]["volumes"]}
    assert volumes == {"mariadb-data", "mariadb-replica-data"}
    assert volumes <= set(_compose()["volumes"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_services_start_without_waiting_for_the_replica(service: str) -> None:
    # a replica down means reads on the primary and health degraded, never no service
    assert REPLICA not in _services()[service].get("depends_on", {})


def test_the_second_shard_is_an_independent_server_with_the_primarys_database() -> None:
    services = _services()
    primary, shard = services[PRIMARY], services[SHARD]
    assert shard["image"] == primary["image"]
    env, source = _environment(SHARD), _environment(PRIMARY)
    for key in ("MARIADB_DATABASE", "MARIADB_USER", "MARIADB_PASSWORD"):
        assert env[key] == source[key], key
    assert "${DB_PASSWORD" in shard["environment"]["MARIADB_PASSWORD"]
    assert not [k for k in env if "MASTER" in k or "REPLICATION" in k]  # no replica of anything
    assert "--log-bin" not in _flags(SHARD)
    assert "--innodb-flush-log-at-trx-commit=1" in _flags(SHARD)
    ids = [f for n in (PRIMARY, REPLICA, SHARD) for f in _flags(n) if f.startswith("--server-id=")]
    assert len(set(ids)) == 3, ids
    assert "depends_on" not in shard
    check = shard["healthcheck"]["test"]
    assert check[:2] == ["CMD", "healthcheck.sh"]
    assert "--innodb_initialized" in check
    (volume,) = [v.split(":") for v in shard["volumes"]]
    assert volume == ["mariadb-shard-1-data", "/var/lib/mysql"]
    assert volume[0] in _compose()["volumes"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_services_wait_for_every_shard_they_are_given(service: str) -> None:
    # a command writes its stream's shard: a service never runs without one of them
    shards = _environment(service)["CQRS__DATABASE__MYSQL__SHARDS"].split(",")
    depends = _services()[service]["depends_on"]
    for host in (s.split(":")[0] for s in shards):
        assert depends[host] == {"condition": "service_healthy"}, host

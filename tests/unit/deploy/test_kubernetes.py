"""deploy/k8s: every manifest valid against the Kubernetes API's JSON schemas (strict, offline,
from kubernetes-validate), and wired together: probes on routes the services serve,
resources on every container, the autoscaler on query-service, disruption budgets and
Services selecting the pods they mean, the gateway on the one nginx template."""

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cqrs_contracts.settings import Settings, apply_env
from tests.unit.deploy.dockerfile import read_stages

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes the manifests claim, and the newest the validator knows.
VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())
APP_SERVICES = ("command-service", "projector", "query-service")
PRIMARY, REPLICA, SHARD = "mariadb", "mariadb-replica", "mariadb-shard-1"
SOURCES = {
    "command-service": "command-service/src/command_service",
    "projector": "projector/src/projector",
    "query-service": "query-service/src/query_service",
}


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
        for path in _manifest_files()
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _applied() -> list[dict[str, Any]]:
    """The documents the kustomization applies."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _applied() if d["kind"] == kind}


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(workload: dict[str, Any]) -> dict[str, Any]:
    """A container's environment: values, and {"secret": key} for cqrs-secrets' keys."""
    env: dict[str, Any] = {}
    for variable in _container(workload)["env"]:
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "cqrs-secrets"
            env[variable["name"]] = {"secret": ref["key"]}
    return env


def _exec_probe(workload: dict[str, Any], probe: str) -> list[str]:
    command: list[str] = _container(workload)[probe]["exec"]["command"]
    return command


def _routes(service: str) -> set[str]:
    """Every path the service's HTTP handlers declare (@get("/...") in its package)."""
    text = "\n".join(p.read_text() for p in (ROOT / SOURCES[service]).rglob("*.py"))
    return set(re.findall(r"@(?:get|post|put|patch|delete)\(\s*\"([^\"]+)\"", text))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("doc", [d for _, d in _documents()], ids=[w for w, _ in _documents()])
def test_manifest_matches_the_kubernetes_schema(doc: dict, version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_rejects_a_broken_manifest() -> None:
    deployment = copy.deepcopy(_of_kind("Deployment")["query-service"])
    container = _container(deployment)
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
    hpa = copy.deepcopy(_of_kind("HorizontalPodAutoscaler")["query-service"])
    hpa["spec"]["maxReplicas"] = "10"
    with pytest.raises(kubernetes_validate.ValidationError, match="not of type 'integer'"):
        kubernetes_validate.validate(hpa, VERSIONS[0], strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in _manifest_files()} - {"secret.example.yaml"}
    assert kustomization["namespace"] == _of_kind("Namespace")["cqrs"]["metadata"]["name"]
    images = {i["name"] for i in kustomization["images"]}
    used = {_container(d)["image"].split(":")[0] for d in _of_kind("Deployment").values()}
    assert {f"cqrs/{s}" for s in APP_SERVICES} == images == used - {"nginx"}
    assert not [d for d in _applied() if d["kind"] == "Secret"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_probes_call_routes_the_service_serves(service: str) -> None:
    container = _container(_of_kind("Deployment")[service])
    routes = _routes(service)
    ports = {p["name"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] in routes, f"{service} {probe} {check['path']}"
        assert check["port"] in ports
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    if "/api/v1/cqrs/health" in routes:
        assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/cqrs/health"


def test_gateway_probes_its_own_health_route() -> None:
    container = _container(_of_kind("Deployment")["gateway"])
    template = (ROOT / "deploy" / "gateway" / "nginx.conf.template").read_text()
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert f"location = {path} " in template


def test_every_container_has_requests_and_limits_and_runs_unprivileged() -> None:
    workloads = {**_of_kind("Deployment"), **_of_kind("Job"), **_of_kind("StatefulSet")}
    assert len(workloads) == 9
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) == {"cpu", "memory"}, f"{name} {bound}"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("service", APP_SERVICES)
def test_containers_run_what_the_image_runs(service: str) -> None:
    container = _container(_of_kind("Deployment")[service])
    runtime = read_stages(ROOT / "deploy" / "docker" / f"{service}.Dockerfile")[-1]
    assert container["args"] == runtime.last("CMD").words()
    assert [p["containerPort"] for p in container["ports"]] == [int(runtime.last("EXPOSE").args)]
    user = int(runtime.last("USER").args.split(":")[0])
    pod = _of_kind("Deployment")[service]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == user


def test_query_service_scales_on_cpu_between_two_and_more_replicas() -> None:
    hpas = _of_kind("HorizontalPodAutoscaler")
    assert list(hpas) == ["query-service"]
    spec = hpas["query-service"]["spec"]
    target = spec["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "query-service",
    )
    deployment = _of_kind("Deployment")["query-service"]
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert spec["minReplicas"] >= 2
    assert spec["maxReplicas"] > spec["minReplicas"]
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "cpu" in _container(deployment)["resources"]["requests"]


def test_every_deployment_has_a_disruption_budget_over_its_pods() -> None:
    deployments = _of_kind("Deployment")
    budgets = _of_kind("PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        deployment = deployments[name]
        selector = budget["spec"]["selector"]["matchLabels"]
        assert selector == deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= _pod_labels(deployment).items()
        replicas = deployment["spec"].get("replicas")
        if replicas is None:
            replicas = _of_kind("HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]
        assert budget["spec"]["minAvailable"] < replicas, name


def test_every_service_selects_exactly_one_workloads_pods_on_a_named_port() -> None:
    deployments = {**_of_kind("Deployment"), **_of_kind("StatefulSet")}
    for name, service in _of_kind("Service").items():
        selector = service["spec"]["selector"]
        chosen = [d for d in deployments.values() if selector.items() <= _pod_labels(d).items()]
        assert [d["metadata"]["name"] for d in chosen] == [name]
        container_ports = {p["name"]: p["containerPort"] for p in _container(chosen[0])["ports"]}
        for port in service["spec"]["ports"]:
            assert container_ports[port["targetPort"]] == port["port"], name


def test_gateway_serves_the_template_verbatim_with_upstreams_on_the_services() -> None:
    template = (ROOT / "deploy" / "gateway" / "nginx.conf.template").read_text()
    configmap = _of_kind("ConfigMap")["gateway-template"]
    assert configmap["data"]["nginx.conf.template"] == template, (
        "deploy/k8s/gateway-template.yaml is stale: run deploy/k8s/gateway-template.sh"
    )
    deployment = _of_kind("Deployment")["gateway"]
    container = _container(deployment)
    env = {e["name"]: e["value"] for e in container["env"]}
    services = _of_kind("Service")
    for variable, name in (
        ("COMMAND_UPSTREAMS", "command-service"),
        ("QUERY_UPSTREAMS", "query-service"),
        ("PROJECTOR_UPSTREAMS", "projector"),
    ):
        port = services[name]["spec"]["ports"][0]["port"]
        assert re.findall(r"server ([\w.-]+):(\d+);", env[variable]) == [(name, str(port))]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "template"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["template"]["configMap"]["name"] == "gateway-template"
    script = container["args"][0]
    assert f"< {mount['mountPath']}/nginx.conf.template " in script
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", template))
    assert placeholders <= set(env)
    assert env["GATEWAY_LISTEN"] == str(services["gateway"]["spec"]["ports"][0]["port"])


def test_gateway_start_script_is_the_one_compose_runs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    in_compose = compose["services"]["gateway"]["command"][0].replace("$$", "$")
    assert _container(_of_kind("Deployment")["gateway"])["args"][0] == in_compose


@pytest.mark.parametrize("service", APP_SERVICES)
def test_services_accept_their_configuration_and_secrets(service: str) -> None:
    container = _container(_of_kind("Deployment")[service])
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    (config_ref,) = [s["configMapRef"]["name"] for s in container["envFrom"]]
    env = dict(_of_kind("ConfigMap")[config_ref]["data"])
    for variable in container["env"]:
        ref = variable["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        env[variable["name"]] = secret["stringData"][ref["key"]]
    assert {"DB_PASSWORD", "CQRS__SECURITY__JWT_SECRET"} <= {v["name"] for v in container["env"]}
    config = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text())
    settings = Settings.model_validate(apply_env(config, env))
    assert settings.security.auth_enabled is True
    assert settings.database.mysql.password == secret["stringData"]["db-password"]
    primary = _env(_of_kind("StatefulSet")[settings.database.mysql.host])
    assert primary["MARIADB_USER"] == settings.database.mysql.username
    assert primary["MARIADB_PASSWORD"] == {"secret": "db-password"}
    assert primary["MARIADB_DATABASE"] == settings.database.mysql.database
    assert [(r.host, r.port) for r in settings.database.mysql.replicas] == [(REPLICA, 3306)]
    assert [(s.host, s.port) for s in settings.database.mysql.shards] == [(SHARD, 3306)]
    services = _of_kind("Service")
    for shard in settings.database.mysql.shards:
        assert services[shard.host]["spec"]["ports"][0]["port"] == shard.port
        shard_env = _env(_of_kind("StatefulSet")[shard.host])
        for key in ("MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_DATABASE"):
            assert shard_env[key] == primary[key], f"{shard.host} {key}"
    for urls in settings.system.services.values():
        for url in urls:
            host, port = url.removeprefix("http://").split(":")
            assert services[host]["spec"]["ports"][0]["port"] == int(port)


def test_migrations_run_as_a_job_with_the_command_service_image() -> None:
    job = _of_kind("Job")["command-service-migrate"]
    container = _container(job)
    deployment = _container(_of_kind("Deployment")["command-service"])
    assert container["image"] == deployment["image"]
    assert container["args"] == ["command-service", "migrate"]


def test_gateway_serves_the_console_files_verbatim() -> None:
    files = {f.name: f.read_text() for f in (ROOT / "console").iterdir() if f.is_file()}
    assert _of_kind("ConfigMap")["gateway-console"]["data"] == files, (
        "deploy/k8s/gateway-template.yaml is stale: run deploy/k8s/gateway-template.sh"
    )
    deployment = _of_kind("Deployment")["gateway"]
    container = _container(deployment)
    env = {e["name"]: e["value"] for e in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "console"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["console"]["configMap"]["name"] == "gateway-console"
    assert mount["mountPath"] == env["CONSOLE_DIR"]


def test_the_event_store_primary_writes_a_row_based_binlog_for_its_replica() -> None:
    primary = _of_kind("StatefulSet")[PRIMARY]
    args = set(_container(primary)["args"])
    assert {"--log-bin", "--server-id=1", "--binlog-format=ROW", "--log-slave-updates"} <= args
    env = _env(primary)
    assert env["MARIADB_REPLICATION_USER"]
    assert env["MARIADB_REPLICATION_PASSWORD"] == {"secret": "db-replication-password"}
    assert "MARIADB_MASTER_HOST" not in env


def test_one_read_replica_replicates_from_the_primary_by_gtid() -> None:
    sets = _of_kind("StatefulSet")
    replicas = [n for n, s in sets.items() if "MARIADB_MASTER_HOST" in _env(s)]
    assert replicas == [REPLICA]
    primary, replica = _container(sets[PRIMARY]), _container(sets[REPLICA])
    assert replica["image"] == primary["image"]  # mariadb >= 10.5.1: CHANGE MASTER uses GTID
    name, version = primary["image"].split(":")
    assert name == "mariadb"
    assert tuple(int(p) for p in version.split(".")[:2]) >= (10, 5)
    env, source = _env(sets[REPLICA]), _env(sets[PRIMARY])
    assert (env["MARIADB_MASTER_HOST"], env["MARIADB_MASTER_PORT"]) == (PRIMARY, "3306")
    for key in ("MARIADB_REPLICATION_USER", "MARIADB_REPLICATION_PASSWORD"):
        assert env[key] == source[key], key
    assert "--read-only" in replica["args"]
    ids = {a for a in primary["args"] + replica["args"] if a.startswith("--server-id=")}
    assert ids == {"--server-id=1", "--server-id=2"}
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert "db-replication-password" in secret["stringData"]


def test_each_database_pod_keeps_its_data_and_is_ready_while_it_replicates() -> None:
    sets = _of_kind("StatefulSet")
    assert set(sets) == {PRIMARY, REPLICA, SHARD}
    services = _of_kind("Service")
    for name, workload in sets.items():
        spec = workload["spec"]
        assert spec["replicas"] == 1, name  # a second pod would be a second server
        assert spec["serviceName"] == name
        assert services[name]["spec"]["clusterIP"] == "None"
        (claim,) = spec["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in _container(workload)["volumeMounts"]}
        assert mounts[claim["metadata"]["name"]] == "/var/lib/mysql"
    ready = _exec_probe(sets[REPLICA], "readinessProbe")
    assert ready[0] == "healthcheck.sh"
    assert {"--replication_io", "--replication_sql"} <= set(ready)
    assert "REPLICA MONITOR" in _env(sets[REPLICA])["MARIADB_HEALTHCHECK_GRANTS"]


def test_the_second_shard_is_an_independent_durable_server() -> None:
    sets = _of_kind("StatefulSet")
    shard, primary = sets[SHARD], sets[PRIMARY]
    assert _container(shard)["image"] == _container(primary)["image"]
    env = _env(shard)
    assert not [k for k in env if "MASTER" in k or "REPLICATION" in k]  # no replica of anything
    args = _container(shard)["args"]
    assert "--log-bin" not in args
    assert "--innodb-flush-log-at-trx-commit=1" in args
    ids = [a for s in sets.values() for a in _container(s)["args"] if a.startswith("--server-id=")]
    assert len(set(ids)) == len(sets), ids
    ready = _exec_probe(shard, "readinessProbe")
    assert ready[:2] == ["healthcheck.sh", "--connect"]
    assert "--innodb_initialized" in ready


def test_the_migration_job_is_given_every_shard() -> None:
    job = _container(_of_kind("Job")["command-service-migrate"])
    (config_ref,) = [s["configMapRef"]["name"] for s in job["envFrom"]]
    assert _of_kind("ConfigMap")[config_ref]["data"]["CQRS__DATABASE__MYSQL__SHARDS"] == (
        f"{SHARD}:3306"
    )

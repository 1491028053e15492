"""deploy/prometheus and deploy/grafana: Prometheus scrapes each service where it serves,
Grafana loads the dashboard from the Prometheus it is given, and the dashboard cannot
drift from the metrics: every series it queries is in README.md's metrics table, and
every metric of that table is defined in a service's source."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "cqrs-dashboard.json"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
PORTS = {"command-service": 8001, "projector": 8004, "query-service": 8002}
SOURCES = ("http-kit", "command-service", "projector", "query-service")
SUFFIXES = ("_bucket", "_count", "_sum")
# cqrs_http's request metrics: Litestar's names with the platform's prefix (metrics.py)
LITESTAR = {"cqrs_requests_total", "cqrs_request_duration_seconds", "cqrs_requests_in_progress"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def readme_metrics() -> dict[str, tuple[str, str]]:
    """README's metrics table: name -> (type, labels)."""
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(cqrs_\w+)` \| (counter|gauge|histogram) \|([^|]*)\|", text, re.M)
    return {name: (kind, labels.strip()) for name, kind, labels in rows}


def queried_metrics() -> set[str]:
    """Every cqrs_ series the dashboard's panels query, as the table names it."""
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    names = set()
    for found in re.findall(r"\bcqrs_\w+", " ".join(exprs)):
        name = found
        for suffix in SUFFIXES:
            name = name.removesuffix(suffix)
        names.add(name)
    return names


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    config = _yaml(ROOT / "deploy" / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == set(PORTS)
    for service, port in PORTS.items():
        job = jobs[service]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        static = [t for c in job.get("static_configs", []) for t in c["targets"]]
        dns = [(n, c["port"]) for c in job.get("dns_sd_configs", []) for n in c["names"]]
        assert static == [f"{service}:{port}"] or dns == [(service, port)], job


def test_compose_runs_prometheus_and_grafana_on_these_files_with_pinned_images() -> None:
    services = _yaml(ROOT / "docker-compose.yml")["services"]
    for name in ("prometheus", "grafana"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), image
        for volume in services[name]["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume
    assert (
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in (services["prometheus"]["volumes"])
    )
    assert set(services["prometheus"]["depends_on"]) == set(PORTS)


def test_grafana_loads_the_dashboard_from_the_provisioned_prometheus() -> None:
    sources = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    uids = {s["uid"] for s in sources if s["type"] == "prometheus"}
    provider = _yaml(PROVISIONING / "dashboards" / "cqrs.yml")["providers"][0]
    mounted = list(_yaml(ROOT / "docker-compose.yml")["services"]["grafana"]["volumes"])
    target = f"{provider['options']['path']}/{DASHBOARD.name}"
    assert any(v.split(":")[1] == target for v in mounted), mounted
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert panel["targets"], panel["title"]


def test_every_metric_the_dashboard_queries_is_documented() -> None:
    documented = set(readme_metrics()) | LITESTAR
    assert queried_metrics(), "the dashboard queries no cqrs_ metric"
    assert queried_metrics() - documented == set()


def test_every_documented_metric_is_defined_in_the_source() -> None:
    code = "\n".join(p.read_text() for s in SOURCES for p in (ROOT / s / "src").rglob("*.py"))
    table = readme_metrics()
    assert len(table) >= 20
    missing = [
        name
        for name, (kind, _) in table.items()
        if f'"{name.removesuffix("_total") if kind == "counter" else name}"' not in code
    ]
    assert missing == []


def test_the_drift_check_sees_an_undocumented_metric() -> None:
    assert "cqrs_made_up_total" not in readme_metrics()
    assert "cqrs_commands_total" in readme_metrics()
    assert "cqrs_command_duration_seconds" in queried_metrics()


@pytest.mark.parametrize("service", sorted(PORTS))
def test_pods_are_annotated_for_scraping_on_their_port(service: str) -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / f"{service}.yaml").read_text()))
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    ports = [p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == PORTS[service] in ports

"""deploy/docker: one multi-stage image per service, built from the workspace root with uv,
holding only that service and the workspace packages it depends on, run as a non-root
user with a health check. No container engine here: the files are read and checked
against the repository, uv.lock and each service's command line."""

import fnmatch
import sys
import tomllib
from pathlib import Path

import pytest

from tests.unit.deploy.dockerfile import Stage, read_stages

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "deploy" / "docker"
SERVICES = {"command-service": 8001, "projector": 8004, "query-service": 8002}
LIBRARIES = {  # the workspace libraries each service's image holds
    "command-service": {"cqrs-contracts", "cqrs-http", "cqrs-event-store"},
    "projector": {"cqrs-contracts", "cqrs-http", "cqrs-event-store", "cqrs-read-store"},
    "query-service": {"cqrs-contracts", "cqrs-http", "cqrs-event-store", "cqrs-read-store"},
}


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def _member_dirs() -> dict[str, str]:
    """Workspace package name -> its folder."""
    members = _toml(ROOT / "pyproject.toml")["tool"]["uv"]["workspace"]["members"]
    return {_toml(ROOT / m / "pyproject.toml")["project"]["name"]: m for m in members}


def _workspace_closure(package: str) -> set[str]:
    """`package` and every workspace package it needs, as uv.lock records them."""
    members = _member_dirs()
    locked = {p["name"]: p for p in _toml(ROOT / "uv.lock")["package"]}
    found, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo += [d["name"] for d in locked[name].get("dependencies", []) if d["name"] in members]
    return found


def _stages(service: str) -> list[Stage]:
    return read_stages(DOCKER / f"{service}.Dockerfile")


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` (or a folder above it) out of the context."""
    parts = Path(path).parts
    for line in patterns:
        anywhere = line.startswith("**/")
        pattern = line.removeprefix("**/")
        for depth in range(1, len(parts) + 1):
            candidate = parts[depth - 1] if anywhere else "/".join(parts[:depth])
            if fnmatch.fnmatchcase(candidate, pattern):
                return True
    return False


def _context_copies(service: str) -> list[str]:
    """Sources of every COPY that reads the build context (not another stage)."""
    return [
        source
        for stage in _stages(service)
        for copy in stage.all("COPY")
        if "from" not in copy.flags()
        for source in copy.operands()[:-1]
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_image_is_built_in_stages_with_uv_from_its_image(service: str) -> None:
    stages = _stages(service)
    names = [s.name for s in stages]
    assert len(stages) >= 3, names
    uv_stage = next(s for s in stages if s.base.startswith("ghcr.io/astral-sh/uv:"))
    assert uv_stage.base.split(":")[1] != "latest"
    build = next(s for s in stages if s.name == "build")
    assert any(c.flags().get("from") == uv_stage.name for c in build.all("COPY"))
    runtime = stages[-1]
    assert runtime.name == "runtime"
    copied = [c for c in runtime.all("COPY") if c.flags().get("from") == "build"]
    assert [c.operands() for c in copied] == [["/app/.venv", "/app/.venv"]]
    assert not any(i.args.startswith("uv ") for i in runtime.all("RUN"))


@pytest.mark.parametrize("service", SERVICES)
def test_uv_syncs_only_this_service_from_the_lock(service: str) -> None:
    build = next(s for s in _stages(service) if s.name == "build")
    syncs = [r.args for r in build.all("RUN") if "uv sync" in r.args]
    assert len(syncs) == 2
    for sync in syncs:
        words = sync.split()
        assert {"--locked", "--no-dev"} <= set(words)
        assert words[words.index("--package") + 1] == service
        assert "--all-packages" not in words
    assert "--no-install-workspace" in syncs[0]
    assert "--no-editable" in syncs[1]


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_service_and_its_workspace_dependencies_are_copied(service: str) -> None:
    members = _member_dirs()
    needed = _workspace_closure(service)
    assert needed == {service, *LIBRARIES[service]}
    code = {s.split("/")[0] for s in _context_copies(service) if s.endswith("/src")}
    assert code == {members[name] for name in needed}
    # uv checks the lock against the whole workspace: every member's manifest, no more.
    manifests = {s for s in _context_copies(service) if s.endswith("pyproject.toml")}
    assert manifests == {"pyproject.toml", *(f"{d}/pyproject.toml" for d in members.values())}


@pytest.mark.parametrize("service", SERVICES)
def test_every_copied_path_exists_and_is_in_the_build_context(service: str) -> None:
    ignore = _dockerignore()
    sources = _context_copies(service)
    assert "uv.lock" in sources
    assert "configs/config.yaml" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, ignore), f"{source} is excluded by .dockerignore"


def test_dockerignore_keeps_local_state_environments_and_caches_out() -> None:
    ignore = _dockerignore()
    for path in (".state/kafka/x", ".venv/bin/python", "shared/.venv/lib", ".git/HEAD"):
        assert _ignored(path, ignore), path
    for path in ("command-service/src/command_service/__pycache__/x.pyc", ".mypy_cache/3.11"):
        assert _ignored(path, ignore), path
    assert not _ignored("shared/src/cqrs_contracts/settings.py", ignore)


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_runs_as_a_non_root_user_with_a_health_check(service: str, port: int) -> None:
    runtime = _stages(service)[-1]
    user = runtime.last("USER").args.split(":")[0]
    assert user not in {"root", "0"}
    keywords = [i.keyword for i in runtime.instructions]
    assert keywords.index("USER") < keywords.index("CMD")
    check = runtime.last("HEALTHCHECK")
    assert check.args.split(" CMD ")[0].startswith("--interval=")
    assert f"http://127.0.0.1:{port}/health" in check.args
    assert runtime.last("EXPOSE").args == str(port)


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_command_is_the_services_console_script_on_all_interfaces(service: str, port: int) -> None:
    command = _stages(service)[-1].last("CMD").words()
    scripts = _toml(ROOT / _member_dirs()[service] / "pyproject.toml")["project"]["scripts"]
    assert command == [service, "serve", "--host", "0.0.0.0", "--port", str(port)]
    assert service in scripts


@pytest.mark.parametrize("service", SERVICES)
def test_service_command_line_takes_host_and_port(
    service: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = service.replace("-", "_")
    cli = __import__(f"{module}.entrypoints.cli", fromlist=["main"])
    monkeypatch.setattr(sys, "argv", [service, "serve", "--help"])
    with pytest.raises(SystemExit):
        cli.main()
    usage = capsys.readouterr().out
    assert "--host" in usage
    assert "--port" in usage

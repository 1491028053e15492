"""The event store's format has one owner (`cqrs_event_store`): no service declares a
table of its own, and the projector only reads, through the package's reader and codec
(and the key ring that reveals what it reads, with its master key), never importing the
tables (what a write statement is built from)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("command-service", "projector", "query-service")
READ_ONLY = (
    "cqrs_event_store.reader",
    "cqrs_event_store.event_codec",
    "cqrs_event_store.privacy.keyring",
    "cqrs_event_store.privacy.master_key",
    "cqrs_event_store.replicas",  # routes the reader's reads to read replicas
    "cqrs_event_store.shard_routers",  # a router per shard, for the reader
)


def sources(service: str) -> dict[str, ast.Module]:
    folder = ROOT / service / "src"
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text())
        for path in sorted(folder.rglob("*.py"))
    }


def imported(tree: ast.Module) -> set[str]:
    """Every module imported (`from a import b` counted as a.b too, so a submodule
    imported by name is seen)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def builds_schema(tree: ast.Module) -> bool:
    """Whether the module calls `Table(...)` or `MetaData(...)` (however imported)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in {"Table", "MetaData"}:
                return True
    return False


def read_only(module: str) -> bool:
    return module == "cqrs_event_store" or any(
        module == m or module.startswith(f"{m}.") for m in READ_ONLY
    )


def test_the_projector_reads_the_event_store_only_through_the_reader_and_codec() -> None:
    used = {
        path: {n for n in imported(tree) if n.split(".")[0] == "cqrs_event_store"}
        for path, tree in sources("projector").items()
    }
    wrong = {path: sorted(n for n in names if not read_only(n)) for path, names in used.items()}
    assert {path: names for path, names in wrong.items() if names} == {}
    assert any("cqrs_event_store.reader" in names for names in used.values())


def test_no_service_declares_a_table_of_its_own() -> None:
    declaring = [p for s in SERVICES for p, tree in sources(s).items() if builds_schema(tree)]
    assert declaring == []

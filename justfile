# Every developer task. Run through ./dev (which installs uv and just) or with just directly.
set shell := ["bash", "-euo", "pipefail", "-c"]

infra := "deploy/local/infra.sh"

# List the tasks
default:
    @just --list --unsorted

# Install the Python workspace (all members, dev tools) from uv.lock
sync:
    uv sync --locked --all-packages

# Start the native services on 127.0.0.1 (MariaDB, Redis, Kafka, read store, nginx)
infra-up *components:
    {{infra}} up {{components}}

# Stop the native services these scripts started (and nothing else)
infra-down *components:
    {{infra}} down {{components}}

# Show which native services are up
infra-status:
    {{infra}} status

# Run the whole system locally: infra, migrations, the three services, the gateway
up: sync infra-up migrate
    deploy/local/services.sh up

# Stop the services and the infra started by `just up`
down:
    -deploy/local/services.sh down
    {{infra}} down

# Tail the logs of every local service
logs:
    tail -n 50 -F .state/*/*.log

# Apply the event-store migrations (Alembic) to the configured MariaDB
migrate: sync
    uv run --package command-service alembic -c command-service/alembic.ini upgrade head

# Everything CI runs: lint, then unit, integration, e2e and browser tests against real services
test: sync lint infra-up browser-tools
    uv run pytest -m "unit or integration or e2e or browser" -p no:cacheprovider

# Fast tests only: pure domain, projections, contracts, in-memory fakes
test-unit: sync
    uv run pytest -m unit -p no:cacheprovider

# Tests against real MariaDB, Kafka, Redis and the read store (started when missing)
test-integration: sync infra-up
    uv run pytest -m integration -p no:cacheprovider

# End-to-end tests through the gateway against the running system
e2e: sync infra-up
    uv run pytest -m e2e -p no:cacheprovider

# The console in headless Chromium (Playwright) against a system of its own, auth on
test-browser: sync infra-up browser-tools
    uv run pytest -m browser -p no:cacheprovider

# The browser of the console's tests: Debian's chromium (installed when missing)
browser-tools:
    deploy/local/browser-tools.sh install

# ruff (lint + format check), mypy (strict on contracts and domain; tests checked too, so a
# fake that drifts from its port fails) and import-linter (the layer rules in pyproject.toml)
lint: sync
    uv run ruff check .
    uv run ruff format --check .
    uv run mypy shared/src http-kit/src event-store/src read-store/src command-service/src projector/src query-service/src tests
    uv run lint-imports --no-cache

# Format the code in place
fmt: sync
    uv run ruff format .
    uv run ruff check --fix .

# Benchmarks against baselines in one command: CPU ms/op per process, wrk throughput, freshness per stage, idle CPU (bench-results/)
bench: sync infra-up bench-tools
    uv run python -m tests.bench

# Soak: 10 minutes of mixed load; memory and sockets of every process sampled (BENCH_SOAK_SECONDS)
soak: sync infra-up bench-tools
    BENCH_SCENARIOS=soak uv run python -m tests.bench

# The benchmark's load generator (wrk, from Debian's packages when missing)
bench-tools:
    deploy/local/bench-tools.sh install

# Reliability suite: kill -9 each part under load, bad input; private servers (a few minutes)
chaos: sync
    rc=0; uv run pytest tests/chaos -m chaos -p no:cacheprovider -s || rc=$?; {{just_executable()}} chaos-down; exit $rc

# Stop the chaos suite's private servers (.state/chaos), if a run was cut short
chaos-down:
    [ ! -f .state/chaos/config.yaml ] || CQRS_CONFIG=.state/chaos/config.yaml CQRS_STATE_DIR=.state/chaos {{infra}} down mariadb mariadb-shard redis kafka readstore

# Rebuild the read models from the event store, with no downtime
rebuild: sync
    uv run --package projector projector rebuild

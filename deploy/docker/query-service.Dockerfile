# syntax=docker/dockerfile:1
# query-service: the read API and the /ws WebSocket.
# Built from the workspace root:  docker build -f deploy/docker/query-service.Dockerfile .
# The image holds only query-service and the workspace packages it depends on
# (cqrs-contracts, cqrs-http, cqrs-event-store (its reader, for time travel),
# cqrs-read-store), installed from uv.lock into /app/.venv.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Every member's manifest (uv reads the whole workspace to check the lock); code comes later.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY http-kit/pyproject.toml http-kit/
COPY event-store/pyproject.toml event-store/
COPY read-store/pyproject.toml read-store/
COPY command-service/pyproject.toml command-service/
COPY projector/pyproject.toml projector/
COPY query-service/pyproject.toml query-service/
# Third-party dependencies first: this layer changes only with uv.lock.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace --package query-service
COPY shared/src shared/src
COPY http-kit/src http-kit/src
COPY event-store/src event-store/src
COPY read-store/src read-store/src
COPY query-service/src query-service/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package query-service

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 cqrs \
    && useradd --system --uid 10001 --gid cqrs --home-dir /app --shell /usr/sbin/nologin cqrs
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY configs/config.yaml /app/configs/config.yaml
ENV PATH=/app/.venv/bin:$PATH \
    CQRS_CONFIG=/app/configs/config.yaml \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/health', timeout=2)"]
CMD ["query-service", "serve", "--host", "0.0.0.0", "--port", "8002"]

"""The configuration contract: the shape of configs/config.yaml shared by every service.

Load order: the YAML file (CQRS_CONFIG or configs/config.yaml), then environment
variables: nested overrides `CQRS__SECTION__KEY=value` (e.g.
`CQRS__DATABASE__MYSQL__PORT=3307`, lists as comma-separated values) and the original
service's short names (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME, MONGODB_URI,
MONGODB_DB, KAFKA_BROKERS, KAFKA_GROUP_ID, KAFKA_TOPIC, REDIS_URL).

Unknown keys are refused, not ignored: a key of the YAML file or a `CQRS__...` variable
that names no setting raises UnknownSettingError, naming it and the nearest valid key
(a misspelt `CQRS__SECURTY__AUTH_ENABLED` would otherwise leave auth off in silence).
Maps whose keys are free (validation rule groups and fields, metadata, system.services)
take any key; the values below them are checked all the same.
"""

import difflib
import os
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from cqrs_contracts.validation import FieldRule

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from 30, "30", "30s", "1.5m", "1h", "250ms"."""
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h|d)?\s*", str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


Seconds = Annotated[float, BeforeValidator(parse_duration)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(Section):
    port: str = ":8080"
    read_timeout: Seconds = 30.0
    write_timeout: Seconds = 30.0
    idle_timeout: Seconds = 120.0


def _host_port(value: Any) -> Any:
    """A replica given as "host:port" (an environment variable's list item) or a map."""
    if isinstance(value, str):
        host, _, port = value.rpartition(":")
        return {"host": host, "port": port} if host else {"host": value}
    return value


class ReplicaSettings(Section):
    """A read replica of the primary, or a shard: the primary's user, password, database."""

    host: str = "127.0.0.1"
    port: int = 3307


class MySQLSettings(Section):
    host: str = "127.0.0.1"
    port: int = 3306
    username: str = "cqrs"
    password: str = "cqrs_password"  # noqa: S105 - local default, overridden in deployments
    database: str = "cqrs_db"
    max_idle_conns: int = 10
    max_open_conns: int = 100
    conn_max_lifetime: int = 3600
    connect_timeout: Seconds = 5.0  # opening a connection; statements are bounded per call
    # Read replicas for the reads that tolerate lag (events and commands APIs, the
    # projector's gap filling and rebuilds); CQRS__DATABASE__MYSQL__REPLICAS=host:port,...
    replicas: list[Annotated[ReplicaSettings, BeforeValidator(_host_port)]] = Field(
        default_factory=list
    )
    max_replica_lag: Seconds = Field(default=5.0, ge=0)  # further behind: read the primary
    replica_probe_interval: Seconds = Field(default=0.5, gt=0)  # how often lag is measured
    # More shards of the event store (cqrs_event_store.shards): shard 1, 2, ... in this
    # order, same user, password and database as this server (shard 0); never reorder or
    # remove one: ids name their shard's number. CQRS__DATABASE__MYSQL__SHARDS=host:port,...
    shards: list[Annotated[ReplicaSettings, BeforeValidator(_host_port)]] = Field(
        default_factory=list
    )

    def url(self, driver: str = "aiomysql", replica: ReplicaSettings | None = None) -> str:
        """The primary's URL, or a replica's or shard's (same user, password, database)."""
        host, port = (replica.host, replica.port) if replica else (self.host, self.port)
        return (
            f"mysql+{driver}://{self.username}:{self.password}"
            f"@{host}:{port}/{self.database}?charset=utf8mb4"
        )


ReadPreference = Literal[
    "primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"
]
ReadConcern = Literal["local", "available", "majority", "linearizable"]


class MongoSettings(Section):
    uri: str = "mongodb://127.0.0.1:27017"
    database: str = "cqrs_db"
    max_pool_size: int = 100
    min_pool_size: int = 10
    max_idle_time: Seconds = 30.0
    connect_timeout: Seconds = 5.0
    # every projector operation, finding a server and retries included (timeoutMS); the
    # query-service bounds its reads by query_service.query_timeout the same way
    operation_timeout: Seconds = 10.0
    # Where the query-service's reads go and what they see, on a replica set (README,
    # "Scaling"); the projector always reads the primary (it compares and sets). A single
    # server answers every preference but `secondary`.
    read_preference: ReadPreference = "primary"
    read_concern: ReadConcern = "local"

    @model_validator(mode="after")
    def _linearizable_reads_the_primary(self) -> Self:
        if self.read_concern == "linearizable" and self.read_preference != "primary":
            raise ValueError(
                "read_concern 'linearizable' is served by the primary only: "
                f"read_preference must be 'primary', not {self.read_preference!r}"
            )
        return self


class DatabaseSettings(Section):
    mysql: MySQLSettings = Field(default_factory=MySQLSettings)
    mongodb: MongoSettings = Field(default_factory=MongoSettings)


class RedisSettings(Section):
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "cqrs"  # every key and channel starts with "<prefix>:"
    cache_ttl: Seconds = 300.0
    socket_timeout: Seconds = 5.0  # one command's answer
    connect_timeout: Seconds = 5.0


class KafkaSettings(Section):
    brokers: list[str] = Field(default_factory=lambda: ["127.0.0.1:9092"])
    group_id: str = "cqrs-projector"
    topic: str = "cqrs-events"
    dlq_topic: str = "cqrs-events.dlq"
    partitions: int = 3
    consumer_timeout: Seconds = 10.0
    producer_timeout: Seconds = 10.0

    @property
    def bootstrap(self) -> str:
        return ",".join(self.brokers)


class CQRSSettings(Section):
    name: str = "CQRS Service"
    version: str = "1.0.0"
    description: str = ""
    max_commands: int = 1000
    max_queries: int = 1000
    max_events: int = 10000
    max_read_models: int = 10000
    cleanup_interval: Seconds = 3600.0
    validation_enabled: bool = True
    caching_enabled: bool = True
    monitoring_enabled: bool = True
    auditing_enabled: bool = True
    supported_command_types: list[str] = Field(default_factory=list)
    supported_query_types: list[str] = Field(default_factory=list)
    supported_event_types: list[str] = Field(default_factory=list)
    supported_read_model_types: list[str] = Field(default_factory=list)
    validation_rules: dict[str, dict[str, FieldRule]] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)


class CommandServiceSettings(Section):
    host: str = "127.0.0.1"
    port: int = 8001
    workers: int = 1
    snapshot_every: int = 50
    # group commit: commands that arrive while a batch is being written share the next
    # transaction (one multi-row INSERT per table, one commit), at most this many
    group_commit_max: int = Field(default=64, ge=1)
    group_commit_batches: int = Field(
        default=2, ge=1
    )  # batches in flight, over all shards (>= 1 each)
    max_append_retries: int = Field(default=5, ge=0)  # reloads after a version clash; 0: none
    idempotency_ttl: Seconds = 86400.0
    migrate_on_start: bool = False
    relay_enabled: bool = True
    relay_batch_size: int = 500
    relay_poll_interval: Seconds = 0.5
    relay_linger: Seconds = 0.01  # passes start at least this far apart: commits join a batch
    relay_max_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024)  # one Kafka batch
    request_timeout: Seconds = 15.0


class ProjectorSettings(Section):
    host: str = "127.0.0.1"
    port: int = 8004  # admin HTTP: DLQ, projections status, webhook handlers
    max_retries: int = 5  # attempts for one event before it is dead-lettered
    retry_backoff: Seconds = 0.2  # first pause; doubles per attempt
    max_conflict_retries: int = 50  # optimistic-concurrency retries per document
    rebuild_batch_size: int = 1000
    batch_max_records: int = 500  # a busy topic is taken this many events at a time
    # an idle consumer's long poll: a fetch returns as soon as records arrive, so this
    # bounds only how often an idle consumer wakes up, not the latency of an event
    idle_poll_ms: int = 1000


class WebhookSettings(Section):
    """Webhook event handlers, delivered by every projector replica in its own consumer
    group: per-partition order, retries with exponential backoff, then a dead letter."""

    enabled: bool = True  # false: registrations are kept, nothing is delivered
    group_id: str = ""  # empty: "<kafka.group_id>-webhooks"
    max_attempts: int = 6  # attempts per event and handler before it is dead-lettered
    retry_base_delay: Seconds = 0.5  # pause after the first failure; doubles per attempt
    retry_max_delay: Seconds = 30.0  # the longest pause between two attempts
    timeout: Seconds = 10.0  # one request, connect to last byte
    refresh_interval: Seconds = 0.5  # how often a replica re-reads the registrations
    # receivers permitted although internal (loopback, private, link-local ...): host
    # names, addresses or CIDR ranges; empty: only public addresses are delivered to
    allowed_hosts: list[str] = Field(default_factory=list)


class QueryServiceSettings(Section):
    host: str = "127.0.0.1"
    port: int = 8002
    workers: int = 1
    consistency_timeout: Seconds = 5.0  # the longest a query waits for a consistency token
    query_timeout: Seconds = 10.0
    # The query log is buffered in memory and written with insert_many: every
    # log_flush_interval, or as soon as log_batch_size entries wait. At most log_buffer_size
    # entries wait; past that an entry is dropped (counted in /stats), a query never waits.
    log_flush_interval: Seconds = Field(default=0.1, gt=0)
    log_batch_size: int = Field(default=200, ge=1)
    log_buffer_size: int = Field(default=10_000, ge=1)
    log_shutdown_timeout: Seconds = Field(default=5.0, ge=0)  # last flush at shutdown
    # Time travel (`as_of` on the get queries) folds the event store: a document fed by
    # more events than time_travel_max_events answers 422 history_too_long. Answers for a
    # point older than time_travel_settle (an event that occurred before it may still be
    # committing just after) never change and are cached in Redis for time_travel_cache_ttl.
    time_travel_max_events: int = Field(default=10_000, ge=1)
    time_travel_cache_ttl: Seconds = Field(default=3600.0, ge=0)  # 0: past answers not cached
    time_travel_settle: Seconds = Field(default=5.0, ge=0)


class RateLimits(Section):
    """Requests per minute per client (token subject, else address), per route group;
    counted in Redis, so the limit holds across every replica."""

    enabled: bool = True
    commands: int = 1200
    queries: int = 6000
    admin: int = 120
    default: int = 3000


class SecuritySettings(Section):
    auth_enabled: bool = False  # JWT bearer tokens with roles reader / writer / admin
    jwt_algorithm: str = "HS256"  # HS256 (jwt_secret) or RS256 (jwt_public_key)
    jwt_secret: str = "change-me-in-production"  # noqa: S105 - local default
    jwt_public_key: str = ""  # PEM, for RS256
    jwt_issuer: str = "cqrs-platform"
    jwt_audience: str = "cqrs-api"
    cors_allow_origins: list[str] = Field(default_factory=lambda: ["*"])
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = Field(default=64, ge=1)  # deeper request bodies: 400
    request_timeout: Seconds = 15.0
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    # proxies whose X-Forwarded-For / X-Real-IP are believed (addresses or CIDR ranges):
    # a client's own address otherwise, so a client cannot pick its rate-limit budget
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])


class WebSocketSettings(Section):
    """Bounds on each `/ws` connection of a query replica (a client cannot exhaust it)."""

    max_channels: int = Field(default=100, ge=1)  # subscriptions per connection
    max_frame_bytes: int = Field(default=64 * 1024, ge=64)  # larger: closed with 1009
    max_connections_per_client: int = Field(default=20, ge=1)  # per address, per replica
    ping_interval: Seconds = 30.0  # a {"type": "ping"} frame when nothing else was sent
    send_timeout: Seconds = 10.0  # a frame not taken by then: the client is gone (1008)


class LoggingSettings(Section):
    format: Literal["json", "text"] = "json"  # json: one object per line
    level: str = "INFO"
    access_log: bool = True  # one line per HTTP request (method, path, status, duration)


class TelemetrySettings(Section):
    """OpenTelemetry traces: one trace per command, from the HTTP request through the
    event store, Kafka, the projector and Redis to the WebSocket push."""

    enabled: bool = True  # false: no spans, no trace context carried along
    otlp_endpoint: str = ""  # e.g. http://127.0.0.1:4318/v1/traces; empty: not exported
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


class PrivacySettings(Section):
    """Crypto-shredding of personal data (README, "Personal data and erasure")."""

    # base64 of 32 bytes; wraps every data key and keys the claims' hashes. The default
    # is for local development only: deployments set CQRS__PRIVACY__MASTER_KEY.
    master_key: str = "KrB93emSz8+ZNbA6uYj0isVZ3qoiP33WG8QiuTxrEts="
    key_cache_ttl: Seconds = Field(default=30.0, ge=0)  # a read data key is reused this long


class SystemSettings(Section):
    """Where the query-service's system health and stats find every service instance."""

    timeout: Seconds = 2.0  # per instance and call
    services: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "command": ["http://127.0.0.1:8001"],
            "projector": ["http://127.0.0.1:8004"],
            "query": ["http://127.0.0.1:8002", "http://127.0.0.1:8003"],
        }
    )


class LocalSettings(Section):
    """The native local infrastructure (deploy/local/*.sh read these); loopback only."""

    state_dir: str = ".state"  # data, logs and pids of the local servers, under the repo
    mariadb_root_password: str = "cqrs_root_password"  # noqa: S105 - local default
    mariadb_replica_port: int = 3307  # mariadb-replica.sh: a read replica of the primary
    mariadb_replication_password: str = "cqrs_repl_password"  # noqa: S105 - the `repl` user
    mariadb_shard_port: int = 3316  # mariadb-shard.sh: the event store's shard 1
    readstore_port: int = 27017
    readstore_postgres_port: int = 5433  # the read store's PostgreSQL backend
    gateway_port: int = 8080


class Settings(Section):
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    cqrs: CQRSSettings = Field(default_factory=CQRSSettings)
    command_service: CommandServiceSettings = Field(default_factory=CommandServiceSettings)
    projector: ProjectorSettings = Field(default_factory=ProjectorSettings)
    query_service: QueryServiceSettings = Field(default_factory=QueryServiceSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    websocket: WebSocketSettings = Field(default_factory=WebSocketSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    system: SystemSettings = Field(default_factory=SystemSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)


class UnknownSettingError(ValueError):
    """A configuration key that names no setting: `source` is the YAML file or the
    environment variable, `key` the dotted key, `suggestion` the nearest valid one."""

    def __init__(self, source: str, key: str, suggestion: str | None, detail: str = "") -> None:
        self.source, self.key, self.suggestion = source, key, suggestion
        message = f"{source}: unknown setting {key!r}" + (f" ({detail})" if detail else "")
        if suggestion:
            message += f"; did you mean {suggestion!r}?"
        super().__init__(message)


def _bare(annotation: Any) -> Any:
    """The type under Annotated[...] and `X | None`."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _bare(options[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


class _Unknown(Exception):  # noqa: N818 - internal signal, turned into UnknownSettingError
    def __init__(self, depth: int, choices: list[str], detail: str = "") -> None:
        self.depth, self.choices, self.detail = depth, choices, detail


def _resolve(path: tuple[str, ...]) -> Any:
    """The type of the setting at `path`; _Unknown(depth, valid keys) where it names none."""
    annotation: Any = Settings
    for depth, key in enumerate(path):
        annotation = _bare(annotation)
        if _is_model(annotation):
            fields = annotation.model_fields
            if key not in fields:
                raise _Unknown(depth, list(fields))
            annotation = fields[key].annotation
        elif get_origin(annotation) is dict and key:
            annotation = get_args(annotation)[1]  # a free key: any name
        else:
            raise _Unknown(depth, [], "not a section" if depth else "")
    return _bare(annotation)


def _nearest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def check_tree(tree: Any, source: str, annotation: Any = Settings, path: str = "") -> None:
    """Refuse a key of `tree` (the YAML file's content) that names no setting."""
    annotation = _bare(annotation)
    if _is_model(annotation) and isinstance(tree, dict):
        fields = annotation.model_fields
        for key, value in tree.items():
            dotted = f"{path}{key}"
            if key not in fields:
                near = _nearest(str(key), list(fields))
                detail = "" if near else f"valid: {', '.join(fields)}"
                raise UnknownSettingError(source, dotted, near and f"{path}{near}", detail)
            check_tree(value, source, fields[key].annotation, f"{dotted}.")
    elif get_origin(annotation) is dict and isinstance(tree, dict):
        for key, value in tree.items():
            check_tree(value, source, get_args(annotation)[1], f"{path}{key}.")
    elif get_origin(annotation) is list and isinstance(tree, list):
        for index, item in enumerate(tree):
            check_tree(item, source, get_args(annotation)[0], f"{path}{index}.")


_SHORT_NAMES = {
    "DB_HOST": ("database", "mysql", "host"),
    "DB_PORT": ("database", "mysql", "port"),
    "DB_USER": ("database", "mysql", "username"),
    "DB_PASSWORD": ("database", "mysql", "password"),
    "DB_NAME": ("database", "mysql", "database"),
    "MONGODB_URI": ("database", "mongodb", "uri"),
    "MONGODB_DB": ("database", "mongodb", "database"),
    "KAFKA_BROKERS": ("kafka", "brokers"),
    "KAFKA_GROUP_ID": ("kafka", "group_id"),
    "KAFKA_TOPIC": ("kafka", "topic"),
    "REDIS_URL": ("redis", "url"),
}


def _env_path(name: str) -> tuple[tuple[str, ...], Any]:
    """The dotted path of a `CQRS__...` variable and its setting's type, or
    UnknownSettingError naming the variable and the nearest valid one."""
    path = tuple(p.lower() for p in name[6:].split("__"))
    try:
        return path, _resolve(path)
    except _Unknown as unknown:
        near = _nearest(path[unknown.depth], unknown.choices)
        fixed = (
            near
            and "CQRS__"
            + "__".join((*path[: unknown.depth], near, *path[unknown.depth + 1 :])).upper()
        )
        key = ".".join(path[: unknown.depth + 1])
        detail = unknown.detail or (f"valid: {', '.join(unknown.choices)}" if not near else "")
        raise UnknownSettingError(name, key, fixed, detail) from None


def _put(tree: dict[str, Any], path: tuple[str, ...], raw: str, as_list: bool) -> None:
    """Set one value; a list setting takes "a,b,c"."""
    node = tree
    for key in path[:-1]:
        node = node.setdefault(key, {})
    as_list = as_list or isinstance(node.get(path[-1]), list)
    node[path[-1]] = [p.strip() for p in raw.split(",") if p.strip()] if as_list else raw


def apply_env(tree: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """`tree` with the environment's overrides applied (short names, then CQRS__...)."""
    for name, path in _SHORT_NAMES.items():
        if env.get(name):
            _put(tree, path, env[name], get_origin(_resolve(path)) is list)
    for name, raw in env.items():
        if name.startswith("CQRS__"):
            path, annotation = _env_path(name)
            _put(tree, path, raw, get_origin(annotation) is list)
    return tree


def default_config_path() -> Path:
    explicit = os.environ.get("CQRS_CONFIG")
    if explicit:
        return Path(explicit)
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = folder / "configs" / "config.yaml"
        if candidate.is_file():
            return candidate
    return Path("configs/config.yaml")


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from the YAML file and the environment."""
    file = path or default_config_path()
    tree: dict[str, Any] = (yaml.safe_load(file.read_text()) if file.is_file() else {}) or {}
    check_tree(tree, str(file))
    return Settings.model_validate(apply_env(tree, dict(os.environ if env is None else env)))


def load_settings_or_exit() -> Settings:
    """load_settings() for a command line: a bad configuration ends the process with one
    line on stderr (the key, where it came from, the nearest valid key), status 1."""
    try:
        return load_settings()
    except UnknownSettingError as error:
        raise SystemExit(f"configuration error: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            + (f" (got {e['input']!r})" if isinstance(e.get("input"), str | int | float) else "")
            for e in error.errors()
        )
        raise SystemExit(f"configuration error: {problems}") from None

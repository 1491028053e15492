"""Settings for a service under test: the real endpoints, this run's names."""

from sqlalchemy.engine import make_url

from cqrs_contracts.settings import Settings, load_settings
from tests.support.services import Endpoints


def shard_address(endpoints: Endpoints) -> str:
    """host:port of the second event-store shard, as database.mysql.shards lists it."""
    url = make_url(endpoints.shard_url())
    return f"{url.host or '127.0.0.1'}:{url.port or 3306}"


def settings_env(
    endpoints: Endpoints,
    mysql_database: str,
    topic: str,
    mongo_database: str,
    *,
    shards: bool = False,
) -> dict[str, str]:
    """Environment variables that point a service at the test run's resources; with
    `shards`, an event store on two shards (the second one's database has the same name)."""
    url = make_url(endpoints.mysql_url)
    return {
        "DB_HOST": url.host or "127.0.0.1",
        "DB_PORT": str(url.port or 3306),
        "DB_USER": url.username or "",
        "DB_PASSWORD": url.password or "",
        "DB_NAME": mysql_database,
        "MONGODB_URI": endpoints.mongodb_uri,
        "MONGODB_DB": mongo_database,
        "KAFKA_BROKERS": endpoints.kafka_brokers,
        "KAFKA_TOPIC": topic,
        "CQRS__KAFKA__DLQ_TOPIC": f"{topic}.dlq",
        "REDIS_URL": endpoints.redis_url,
        # the services under test read the primary only, unless a test names its replica
        "CQRS__DATABASE__MYSQL__REPLICAS": "",
        # one shard (the primary) unless a test asks for the second
        "CQRS__DATABASE__MYSQL__SHARDS": shard_address(endpoints) if shards else "",
    }


def settings_for(env: dict[str, str], **overrides: str) -> Settings:
    return load_settings(env={**env, **overrides})

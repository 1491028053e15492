"""The read-store client: exact decimals (Decimal128) and zone-aware datetimes."""

from decimal import Decimal
from typing import Any

from bson.codec_options import CodecOptions, TypeCodec, TypeRegistry
from bson.decimal128 import Decimal128
from pymongo import AsyncMongoClient

from cqrs_contracts.settings import MongoSettings


class DecimalCodec(TypeCodec):
    python_type = Decimal
    bson_type = Decimal128

    def transform_python(self, value: Decimal) -> Decimal128:
        return Decimal128(value)

    def transform_bson(self, value: Decimal128) -> Decimal:
        return value.to_decimal()


# Read-model collections always use these, whatever client they come from.
CODECS: CodecOptions[dict[str, Any]] = CodecOptions(
    tz_aware=True, type_registry=TypeRegistry([DecimalCodec()])
)


def read_options(settings: MongoSettings) -> dict[str, Any]:
    """The driver options of a client that only reads views (the query-service): where
    its reads go on a replica set and what they see (database.mongodb)."""
    return {
        "readPreference": settings.read_preference,
        "readConcernLevel": settings.read_concern,
    }


def make_client(settings: MongoSettings) -> AsyncMongoClient[dict[str, Any]]:
    """The projector's client. It reads the primary whatever the settings or the URI say:
    it compares and sets each document's version, a stale secondary read only conflicts."""
    return AsyncMongoClient(
        settings.uri,
        readPreference="primary",
        maxPoolSize=settings.max_pool_size,
        minPoolSize=min(settings.min_pool_size, settings.max_pool_size),
        maxIdleTimeMS=int(settings.max_idle_time * 1000),
        connectTimeoutMS=int(settings.connect_timeout * 1000),
        timeoutMS=int(settings.operation_timeout * 1000),
        tz_aware=True,
        type_registry=TypeRegistry([DecimalCodec()]),
    )

"""GET /read-models: read any read-model document (or, `?as_of=`, as it was then), or
list one type with a cursor.
Corrections (POST, DELETE) are the projector's: it is the one writer of the read models,
and the gateway sends those methods there."""

import json
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from pydantic import TypeAdapter, ValidationError

from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.queries import AsOf
from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import READER
from cqrs_http.errors import error_response, invalid_input
from cqrs_http.read_model_types import read_model_type
from query_service.bootstrap import Container
from query_service.queries.filters import BadQueryError, after_cursor, make_cursor
from query_service.queries.past import PastQueryError

Limit = Annotated[int, Parameter(ge=1, le=100)]
BY_ID = ("_id", 1)
_AS_OF: TypeAdapter[int | datetime] = TypeAdapter(AsOf)


class ReadModelController(Controller):
    path = "/api/v1/cqrs/read-models"
    tags = ("read-models",)
    guards = [READER]  # noqa: RUF012 - Litestar's declaration style

    @get("/{doc_id:str}", summary="One read-model document (any type, or ?type=)")
    async def get_one(
        self,
        doc_id: FromPath[str],
        container: NamedDependency[Container],
        type: FromQuery[str | None] = None,
        as_of: FromQuery[str | None] = None,
    ) -> Response[Any] | dict[str, Any]:
        names = [read_model_type(type).NAME] if type else list(READ_MODELS)
        point = _point(as_of)
        for name in names:
            doc = await container.queries.store.get(name, doc_id)
            if doc is None:
                continue
            if point is None:
                return {"type": name, "data": doc.model_dump(mode="json")}
            return await _past(container, name, doc_id, point)
        raise NotFoundException(f"no read model {doc_id}")

    @get("/", summary="List read-model documents of one type")
    async def list_all(
        self,
        container: NamedDependency[Container],
        *,
        type: FromQuery[str] = "UserReadModel",
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        name = read_model_type(type).NAME
        try:
            where = after_cursor(cursor, *BY_ID) if cursor else {}
        except BadQueryError as bad:
            raise invalid_input(str(bad), [{"field": "cursor", "message": str(bad)}]) from bad
        page = await container.queries.store.page(name, where, BY_ID, limit)
        last = page.items[-1].id if page.items and page.has_more else None
        return {
            "type": name,
            "items": [d.model_dump(mode="json") for d in page.items],
            "next_cursor": make_cursor(last, last) if last is not None else None,
        }


def _point(as_of: str | None) -> int | datetime | None:
    """The `?as_of=` point (a version or an aware time), or the 422 naming it."""
    if as_of is None:
        return None
    try:
        return _AS_OF.validate_python(as_of)
    except ValidationError as bad:
        fields = [{"field": "as_of", "message": e["msg"], "rule": e["type"]} for e in bad.errors()]
        raise invalid_input("invalid as_of", fields) from bad


async def _past(
    container: Container, name: str, doc_id: str, point: int | datetime
) -> Response[Any]:
    """The document `name` as of `point`, as the query answers it (queries/past.py)."""
    if container.queries.past is None:
        return error_response(503, ErrorCode.DEPENDENCY_UNAVAILABLE, "no event store")
    try:
        past = await container.queries.past.answer(name, doc_id, point)
    except PastQueryError as failed:
        return error_response(failed.status, failed.code, str(failed), **failed.details)
    body = {"type": name, "data": json.loads(past.result), "as_of": json.loads(past.as_of)}
    return Response(body)

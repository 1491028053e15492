"""GET /read-models: read any read-model document, or list one type with a cursor.
Corrections (POST, DELETE) are the projector's: it is the one writer of the read models,
and the gateway sends those methods there."""

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import READER
from cqrs_http.errors import invalid_input
from cqrs_http.read_model_types import read_model_type
from query_service.bootstrap import Container
from query_service.queries.filters import BadQueryError, after_cursor, make_cursor

Limit = Annotated[int, Parameter(ge=1, le=100)]
BY_ID = ("_id", 1)


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
    ) -> dict[str, Any]:
        names = [read_model_type(type).NAME] if type else list(READ_MODELS)
        for name in names:
            doc = await container.queries.store.get(name, doc_id)
            if doc is not None:
                return {"type": name, "data": doc.model_dump(mode="json")}
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

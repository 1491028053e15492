"""GET|POST|DELETE /read-models: read any read-model document, and admin corrections
(which the next event of that stream, or a rebuild, overrides)."""

from typing import Annotated, Any

from beanie import SortDirection
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from pydantic import BaseModel, ConfigDict, ValidationError

from cqrs_contracts.read_models import READ_MODELS
from cqrs_http.auth import ADMIN, READER
from cqrs_http.errors import field_errors, invalid_input
from query_service.adapters.documents import DOCUMENTS
from query_service.bootstrap import Container
from query_service.queries.filters import BadQueryError, after_cursor, make_cursor

Limit = Annotated[int, Parameter(ge=1, le=100)]


class SaveReadModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    data: dict[str, Any]


def _model_name(type_: str | None) -> str:
    if type_ is not None and type_ not in READ_MODELS:
        raise invalid_input(
            "unknown read model type",
            [{"field": "type", "message": f"one of {sorted(READ_MODELS)}"}],
        )
    return type_ or ""


class ReadModelController(Controller):
    path = "/api/v1/cqrs/read-models"
    tags = ("read-models",)
    guards = [READER]  # noqa: RUF012 - Litestar's declaration style

    @get("/{doc_id:str}", summary="One read-model document (any type, or ?type=)")
    async def get_one(
        self, doc_id: FromPath[str], type: FromQuery[str | None] = None
    ) -> dict[str, Any]:
        names = [_model_name(type)] if type else list(READ_MODELS)
        for name in names:
            doc = await DOCUMENTS[name].get(doc_id)
            if doc is not None:
                return {"type": name, "data": doc.model_dump(mode="json")}
        raise NotFoundException(f"no read model {doc_id}")

    @get("/", summary="List read-model documents of one type")
    async def list_all(
        self,
        *,
        type: FromQuery[str] = "UserReadModel",
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        name = _model_name(type)
        try:
            where = after_cursor(cursor, "_id", 1) if cursor else {}
        except BadQueryError as bad:
            raise invalid_input(str(bad), [{"field": "cursor", "message": str(bad)}]) from bad
        docs = (
            await DOCUMENTS[name]
            .find(where)
            .sort([("_id", SortDirection.ASCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        items = [d.model_dump(mode="json") for d in docs[:limit]]
        more = len(docs) > limit
        next_cursor = (
            make_cursor(str(docs[limit - 1].id), str(docs[limit - 1].id)) if more else None
        )
        return {"type": name, "items": items, "next_cursor": next_cursor}

    @post(
        "/",
        status_code=200,
        summary="Admin: save a correction (overridden by the next event)",
        guards=[ADMIN],
    )
    async def save(
        self, data: JSONBody[dict[str, Any]], container: NamedDependency[Container]
    ) -> Response[dict[str, Any]]:
        try:
            body = SaveReadModel.model_validate(data)
            model = READ_MODELS[_model_name(body.type)]
            doc = model.model_validate(body.data)
        except ValidationError as invalid:
            raise invalid_input("invalid read model", field_errors(invalid)) from invalid
        revision = await container.corrections.put(doc)
        await container.announce(model.NAME, doc.id, doc.model_dump(mode="json"))
        return Response(
            {
                "type": model.NAME,
                "id": doc.id,
                "revision": revision,
                "data": doc.model_dump(mode="json"),
            }
        )

    @delete(
        "/{doc_id:str}",
        status_code=200,
        summary="Admin: delete a document (a rebuild restores it)",
        guards=[ADMIN],
    )
    async def remove(
        self,
        doc_id: FromPath[str],
        container: NamedDependency[Container],
        type: FromQuery[str] = "",
    ) -> dict[str, Any]:
        name = _model_name(type or None)
        if not name:
            raise invalid_input("type is required", [{"field": "type", "message": "is required"}])
        if not await container.corrections.delete(name, doc_id):
            raise NotFoundException(f"no {name} {doc_id}")
        await container.announce(name, doc_id, None)
        return {"deleted": doc_id, "type": name}

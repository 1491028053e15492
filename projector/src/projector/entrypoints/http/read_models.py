"""POST|DELETE /api/v1/cqrs/read-models: admin corrections, applied here by the one writer
of the read models (reads: the query-service's GET routes; the gateway routes by method).
The next event of that stream, or a rebuild, overrides a correction."""

from typing import Any

from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from pydantic import BaseModel, ConfigDict

from cqrs_http.auth import ADMIN
from cqrs_http.errors import invalid_input, parsed
from cqrs_http.read_model_types import read_model_type
from projector.bootstrap import Container


class SaveReadModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    data: dict[str, Any]


class ReadModelCorrectionController(Controller):
    path = "/api/v1/cqrs/read-models"
    tags = ("read-models",)
    guards = [ADMIN]  # noqa: RUF012 - Litestar's declaration style

    @post("/", status_code=200, summary="Admin: save a correction (overridden by the next event)")
    async def save(
        self, data: JSONBody[dict[str, Any]], container: NamedDependency[Container]
    ) -> dict[str, Any]:
        body = parsed(SaveReadModel, data, "invalid read model")
        doc = parsed(read_model_type(body.type), body.data, "invalid read model")
        revision = await container.corrections.put(doc)
        json = doc.model_dump(mode="json")
        return {"type": doc.NAME, "id": doc.id, "revision": revision, "data": json}

    @delete(
        "/{doc_id:str}", status_code=200, summary="Admin: delete a document (a rebuild restores it)"
    )
    async def remove(
        self,
        doc_id: FromPath[str],
        container: NamedDependency[Container],
        type: FromQuery[str] = "",
    ) -> dict[str, Any]:
        if not type:
            raise invalid_input("type is required", [{"field": "type", "message": "is required"}])
        model = read_model_type(type)
        if not await container.corrections.delete(model, doc_id):
            raise NotFoundException(f"no {model.NAME} {doc_id}")
        return {"deleted": doc_id, "type": model.NAME}

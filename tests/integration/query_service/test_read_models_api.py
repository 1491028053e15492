"""GET|POST|DELETE /api/v1/cqrs/read-models: reading any document, listing with a cursor
(the query-service), and admin corrections (the projector, the one writer of the read
models) that queries see at once and the next event of the stream or a rebuild
overrides, without ever stopping the projector."""

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from cqrs_contracts.read_models import READ_MODELS as MODELS
from cqrs_contracts.settings import Settings
from cqrs_read_store.announce import forget_cached
from projector.application.consistency import check
from projector.bootstrap import build, close, make_rebuild
from tests.integration.query_service.helpers import (
    READ_MODELS,
    answer,
    ask,
    error_of,
    new_order,
    new_user,
    send,
    tag,
)


def readme_user(doc_id: str) -> dict[str, Any]:
    """The original README's "Saving a Read Model" body."""
    return {
        "type": "UserReadModel",
        "data": {
            "id": doc_id,
            "name": "John Doe",
            "email": "john@example.com",
            "age": 30,
            "created_at": "2023-01-01T00:00:00Z",
            "updated_at": "2023-01-01T00:00:00Z",
        },
    }


async def test_get_any_type_or_one_type(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    user, _ = await new_user(commands, name="Typed Tess")
    order, token = await new_order(commands, user, "12.00")
    await answer(queries, "GetOrder", {"id": order}, token)

    found = (await queries.get(f"{READ_MODELS}/{user}")).json()
    assert (found["type"], found["data"]["id"], found["data"]["name"]) == (
        "UserReadModel",
        user,
        "Typed Tess",
    )
    summary = await queries.get(f"{READ_MODELS}/{user}", params={"type": "UserOrderReadModel"})
    assert summary.status_code == 200
    assert (summary.json()["type"], summary.json()["data"]["order_count"]) == (
        "UserOrderReadModel",
        1,
    )
    by_order = (await queries.get(f"{READ_MODELS}/{order}")).json()
    assert (by_order["type"], by_order["data"]["amount"]) == ("OrderReadModel", "12.00")
    payments = await queries.get(f"{READ_MODELS}/{order}", params={"type": "OrderPaymentReadModel"})
    assert payments.json()["data"]["balance"] == "12.00"

    missing = await queries.get(f"{READ_MODELS}/{order}", params={"type": "PaymentReadModel"})
    assert error_of(missing, 404)["code"] == "not_found"
    assert error_of(await queries.get(f"{READ_MODELS}/nobody-{tag()}"), 404)["code"] == "not_found"


async def test_list_walks_with_a_cursor(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    user, _ = await new_user(commands)
    made = set()
    for amount in ("1.00", "2.00", "3.00"):
        order, token = await new_order(commands, user, amount)
        made.add(order)
    await answer(queries, "GetUserOrders", {"id": user}, token)

    walked: list[str] = []
    cursor, limit = None, 2
    for _ in range(1000):
        params: dict[str, Any] = {"type": "OrderReadModel", "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await queries.get(READ_MODELS, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["type"] == "OrderReadModel"
        assert len(page["items"]) <= limit
        walked += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if len(walked) >= 6:
            limit = 100  # the first pages by two, then faster to the end
    assert walked == sorted(walked)  # by id
    assert len(walked) == len(set(walked))
    assert made <= set(walked)


@pytest.mark.parametrize("cursor", ["garbage!!", "WzEsIDJd"])
async def test_list_rejects_a_garbage_cursor(queries: AsyncTestClient, cursor: str) -> None:
    """A client error (as the same cursor in a list query), never a 500."""
    response = await queries.get(READ_MODELS, params={"type": "OrderReadModel", "cursor": cursor})
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == "cursor"


async def test_save_the_readme_example(
    queries: AsyncTestClient, projector_admin: AsyncTestClient
) -> None:
    doc_id = f"user-{uuid.uuid4().hex[:12]}"
    saved = await projector_admin.post(READ_MODELS, json=readme_user(doc_id))
    assert saved.status_code == 200, saved.text
    assert (saved.json()["type"], saved.json()["id"], saved.json()["revision"]) == (
        "UserReadModel",
        doc_id,
        1,
    )
    stored = (await queries.get(f"{READ_MODELS}/{doc_id}")).json()
    assert (stored["type"], stored["data"]["name"], stored["data"]["age"]) == (
        "UserReadModel",
        "John Doe",
        30,
    )
    assert stored["data"]["created_at"].startswith("2023-01-01T00:00:00")
    got = await answer(queries, "GetUser", {"id": doc_id})
    assert (got["result"]["email"], got["from_cache"]) == ("john@example.com", False)

    # saved again: a new revision, and the cached copy is dropped
    assert (await answer(queries, "GetUser", {"id": doc_id}))["from_cache"] is True
    again = readme_user(doc_id)
    again["data"]["name"] = "John Q. Doe"
    assert (await projector_admin.post(READ_MODELS, json=again)).json()["revision"] == 2
    fresh = await answer(queries, "GetUser", {"id": doc_id})
    assert (fresh["result"]["name"], fresh["from_cache"]) == ("John Q. Doe", False)


async def test_a_correction_is_seen_then_overridden_by_the_next_event(
    commands: AsyncTestClient, queries: AsyncTestClient, projector_admin: AsyncTestClient
) -> None:
    uid, token = await new_user(commands, name="Original Olga", age=40)
    doc = (await answer(queries, "GetUser", {"id": uid}, token))["result"]

    corrected = await projector_admin.post(
        READ_MODELS, json={"type": "UserReadModel", "data": {**doc, "name": "Corrected Olga"}}
    )
    assert corrected.status_code == 200, corrected.text
    seen = await answer(queries, "GetUser", {"id": uid})
    assert (seen["result"]["name"], seen["from_cache"]) == ("Corrected Olga", False)
    listed = await answer(queries, "ListUsers", {"name": "Corrected Olga"})
    assert uid in [r["id"] for r in listed["result"]["items"]]

    _, token = await send(commands, "UpdateUser", user_id=uid, name="Renamed Olga")
    after = await answer(queries, "GetUser", {"id": uid}, token)
    assert (after["result"]["name"], after["version"]) == ("Renamed Olga", 2)

    # the projector goes on: later commands of this stream (and others) still project
    _, token = await send(commands, "UpdateUser", user_id=uid, age=41)
    later = await answer(queries, "GetUser", {"id": uid}, token)
    assert (later["result"]["name"], later["result"]["age"], later["version"]) == (
        "Renamed Olga",
        41,
        3,
    )
    other, token = await new_user(commands)
    assert (await answer(queries, "GetUser", {"id": other}, token))["version"] == 1


async def test_a_partial_correction_is_replaced_by_the_stream_history(
    commands: AsyncTestClient,
    queries: AsyncTestClient,
    projector_admin: AsyncTestClient,
) -> None:
    """A correction in the README's shape (no versions) of a projected user: the next
    event rebuilds the document from the event store, correction gone."""
    mail = f"true.{tag()}@example.com"
    uid, token = await new_user(commands, name="True Tom", age=50, mail=mail)
    await answer(queries, "GetUser", {"id": uid}, token)
    body = readme_user(uid)
    assert (await projector_admin.post(READ_MODELS, json=body)).status_code == 200
    assert (await answer(queries, "GetUser", {"id": uid}))["result"]["name"] == "John Doe"

    _, token = await send(commands, "UpdateUser", user_id=uid, age=51)
    doc = (await answer(queries, "GetUser", {"id": uid}, token))["result"]
    assert (doc["name"], doc["email"], doc["age"], doc["versions"]) == (
        "True Tom",
        mail,
        51,
        {uid: 2},
    )


async def rebuild_read_store(settings: Settings) -> list[str]:
    """Rebuild every read model from the event store as `projector rebuild` does (cached
    copies dropped at the switch); the documents that then differ from a clean replay."""
    container = build(settings)
    try:
        rebuild = make_rebuild(container)
        rebuild.settle_seconds = 1.5  # the live projector sees the rebuild within 1 s

        async def switched() -> None:
            await forget_cached(container.redis, settings.redis.prefix, list(MODELS))

        assert await rebuild.run(lambda done, total: None, switched) > 0
        report = await check(container.views, container.events)
    finally:
        await close(container)
    return [d["doc"] for d in report.different] + report.missing + report.extra


async def test_corrections_are_overridden_by_a_rebuild(
    commands: AsyncTestClient,
    queries: AsyncTestClient,
    projector_settings: Settings,
    projector_admin: AsyncTestClient,
) -> None:
    """A changed, a deleted and an invented document: after a rebuild each is what the
    event store says again, and queries see that at once (the cache does not hide it)."""
    uid, _ = await new_user(commands, name="Rebuilt Rita", age=60)
    _, token = await send(commands, "UpdateUser", user_id=uid, age=61)
    doc = (await answer(queries, "GetUser", {"id": uid}, token))["result"]
    changed = {"type": "UserReadModel", "data": {**doc, "name": "Corrected Rita", "age": 99}}
    assert (await projector_admin.post(READ_MODELS, json=changed)).status_code == 200
    assert (await answer(queries, "GetUser", {"id": uid}))["result"]["name"] == "Corrected Rita"
    assert (await answer(queries, "GetUser", {"id": uid}))["from_cache"] is True
    summary = {"type": "UserOrderReadModel"}
    deleted = await projector_admin.delete(f"{READ_MODELS}/{uid}", params=summary)
    assert deleted.status_code == 200, deleted.text
    invented = f"user-{uuid.uuid4().hex[:12]}"  # no stream behind it
    assert (await projector_admin.post(READ_MODELS, json=readme_user(invented))).status_code == 200

    differing = await rebuild_read_store(projector_settings)

    mine = {f"{model}/{doc_id}" for model in MODELS for doc_id in (uid, invented)}
    assert not mine & set(differing), differing
    after = await answer(queries, "GetUser", {"id": uid})
    assert (after["result"]["name"], after["result"]["age"]) == ("Rebuilt Rita", 61)
    assert (after["version"], after["from_cache"]) == (2, False)
    restored = await queries.get(f"{READ_MODELS}/{uid}", params=summary)
    assert restored.status_code == 200, restored.text
    assert restored.json()["data"]["name"] == "Rebuilt Rita"
    gone = await ask(queries, "GetUser", {"id": invented})
    assert error_of(gone, 404)["code"] == "not_found"


async def test_delete_removes_and_the_next_event_restores(
    commands: AsyncTestClient,
    queries: AsyncTestClient,
    projector_admin: AsyncTestClient,
) -> None:
    uid, token = await new_user(commands, name="Deleted Dora", age=33)
    await answer(queries, "GetUser", {"id": uid}, token)
    await answer(queries, "GetUser", {"id": uid})  # cached now

    gone = await projector_admin.delete(f"{READ_MODELS}/{uid}", params={"type": "UserReadModel"})
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"deleted": uid, "type": "UserReadModel"}
    assert error_of(await ask(queries, "GetUser", {"id": uid}), 404)["code"] == "not_found"
    missing = await queries.get(f"{READ_MODELS}/{uid}", params={"type": "UserReadModel"})
    assert missing.status_code == 404
    # the user's other read model is untouched
    assert (await answer(queries, "GetUserOrders", {"id": uid}))["result"]["name"] == "Deleted Dora"
    again = await projector_admin.delete(f"{READ_MODELS}/{uid}", params={"type": "UserReadModel"})
    assert error_of(again, 404)["code"] == "not_found"

    _, token = await send(commands, "UpdateUser", user_id=uid, age=34)
    back = await answer(queries, "GetUser", {"id": uid}, token)
    assert (back["result"]["name"], back["result"]["age"], back["version"]) == (
        "Deleted Dora",
        34,
        2,
    )


async def test_an_unknown_type_is_422(
    queries: AsyncTestClient, projector_admin: AsyncTestClient
) -> None:
    bogus = {"type": "NoSuchModel"}
    answers = [
        await queries.get(f"{READ_MODELS}/x", params=bogus),
        await queries.get(READ_MODELS, params=bogus),
        await projector_admin.post(READ_MODELS, json={**bogus, "data": {"id": "x"}}),
        await projector_admin.delete(f"{READ_MODELS}/x", params=bogus),
    ]
    for response in answers:
        error = error_of(response, 422)
        assert (error["code"], error["details"]["fields"][0]["field"]) == (
            "validation_failed",
            "type",
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "UserReadModel", "data": {"id": "x", "age": "old"}}, "age"),
        ({"type": "UserReadModel", "data": {"name": "no id"}}, "id"),
        ({"type": "OrderReadModel", "data": {"id": "x", "amount": "lots"}}, "amount"),
    ],
)
async def test_an_invalid_document_is_422(
    projector_admin: AsyncTestClient, body: dict[str, Any], field: str
) -> None:
    error = error_of(await projector_admin.post(READ_MODELS, json=body), 422)
    assert (error["code"], error["details"]["fields"][0]["field"]) == ("validation_failed", field)


async def test_delete_needs_a_type(projector_admin: AsyncTestClient) -> None:
    response = await projector_admin.delete(f"{READ_MODELS}/x")
    assert response.status_code in (400, 422), response.text  # a missing parameter
    assert response.json()["error"]["details"]["fields"][0]["field"] == "type"


def read_model_methods(app: Litestar) -> set[str]:
    """The HTTP methods an app serves on /api/v1/cqrs/read-models and below."""
    return {
        method
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(READ_MODELS)
        for method in route.methods - {"OPTIONS", "HEAD"}
    }


def test_only_the_projector_writes_read_models(
    queries: AsyncTestClient, projector_admin: AsyncTestClient
) -> None:
    """One writer: the query-service only reads them; corrections are the projector's."""
    assert read_model_methods(queries.app) == {"GET"}
    assert read_model_methods(projector_admin.app) == {"POST", "DELETE"}

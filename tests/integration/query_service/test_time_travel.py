"""The proof of time travel on the real services (command-service -> MariaDB -> Kafka ->
projector -> read store; the query-service folding MariaDB's events): a story of updates,
payments and refunds, the five live get answers recorded after each step; then `as_of`
each version (the step that wrote it) and each recorded time equals what was recorded,
every field but the as_of metadata. Unknown versions, times before creation and unknown
ids are 404; garbage 422; a history past the bound 422 history_too_long."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts import channels
from tests.integration.query_service.helpers import (
    READ_MODELS,
    answer,
    ask,
    new_order,
    new_payment,
    new_user,
    send,
)

GETS = {  # query type -> (the id field, the story's document it asks for)
    "GetUser": ("id", "user"),
    "GetUserOrders": ("user_id", "user"),
    "GetOrder": ("id", "order"),
    "GetOrderPayments": ("order_id", "order"),
    "GetPayment": ("id", "payment"),
}


@dataclass
class Step:
    """The live answers right after one command (query type -> body; absent: no document
    yet) and a time after every event of the step and before the next step's."""

    answers: dict[str, dict[str, Any]]
    at: datetime


@dataclass
class Story:
    ids: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    # (query type, own-stream version) -> the live answer when that version was written
    versions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def data(self, query: str, **more: Any) -> dict[str, Any]:
        id_field, doc = GETS[query]
        return {id_field: self.ids[doc], **more}


async def record(story: Story, queries: AsyncTestClient, token: str) -> None:
    answers: dict[str, dict[str, Any]] = {}
    for query, (_, doc) in GETS.items():
        if doc not in story.ids:
            continue
        body = await answer(queries, query, story.data(query), token)
        answers[query] = body
        story.versions.setdefault((query, body["version"]), body)
    story.steps.append(Step(answers, datetime.now(UTC)))


@pytest.fixture(scope="module")
async def story(commands: AsyncTestClient, queries: AsyncTestClient) -> Story:
    story = Story()
    story.ids["user"], token = await new_user(commands, name="Ada Travel", age=36)
    await record(story, queries, token)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("UpdateUser", {"user_id": story.ids["user"], "name": "Ada L. Travel"}),
        ("CreateOrder", {"amount": "100.00"}),
        ("CreateOrder", {"amount": "30.00"}),  # a second order: the user's list grows
        ("ProcessPayment", {"amount": "60.00"}),
        ("RefundPayment", {"amount": "10.00"}),  # partial
        ("RefundPayment", {"amount": "50.00"}),  # the rest: refunded
        ("UpdateUser", {"user_id": story.ids["user"], "age": 37}),
        ("UpdateOrder", {"description": "gift wrap"}),  # the pending second order
    ]
    second_order = ""
    for type_, data in steps:
        if type_ == "CreateOrder":
            order, token = await new_order(commands, story.ids["user"], data["amount"])
            if "order" in story.ids:
                second_order = order
            story.ids.setdefault("order", order)
        elif type_ == "ProcessPayment":
            story.ids["payment"], token = await new_payment(
                commands, story.ids["order"], data["amount"]
            )
        elif type_ == "RefundPayment":
            _, token = await send(commands, type_, payment_id=story.ids["payment"], **data)
        elif type_ == "UpdateOrder":
            _, token = await send(commands, type_, order_id=second_order, **data)
        else:
            _, token = await send(commands, type_, **data)
        await record(story, queries, token)
    return story


def without_as_of(body: dict[str, Any]) -> tuple[Any, Any]:
    return body["result"], body["version"]


async def test_as_of_each_version_is_the_live_answer_when_it_was_written(
    queries: AsyncTestClient, story: Story
) -> None:
    assert {q for q, _ in story.versions} == set(GETS)
    assert story.versions[("GetPayment", 3)]["result"]["status"] == "refunded"
    for (query, version), live in story.versions.items():
        past = await answer(queries, query, story.data(query, as_of=version))
        assert without_as_of(past) == without_as_of(live), (query, version)
        assert past["as_of"]["version"] == version
        assert past["as_of"]["position"] == live["result"]["last_position"]
        assert datetime.fromisoformat(past["as_of"]["at"]) >= datetime.fromisoformat(
            live["result"]["updated_at"]
        )


async def test_as_of_each_recorded_time_is_the_live_answer_then(
    queries: AsyncTestClient, story: Story
) -> None:
    assert len(story.steps) == 9
    for n, step in enumerate(story.steps):
        for query, live in step.answers.items():
            past = await answer(queries, query, story.data(query, as_of=step.at.isoformat()))
            assert without_as_of(past) == without_as_of(live), (n, query)


async def test_the_get_route_answers_as_of_too(queries: AsyncTestClient, story: Story) -> None:
    live = story.versions[("GetOrderPayments", 2)]
    reply = await queries.get(
        f"{READ_MODELS}/{story.ids['order']}",
        params={"type": "OrderPaymentReadModel", "as_of": "2"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["type"], body["data"]) == ("OrderPaymentReadModel", live["result"])
    assert body["as_of"]["version"] == 2
    at = story.steps[1].at.isoformat()
    by_time = await queries.get(f"{READ_MODELS}/{story.ids['user']}", params={"as_of": at})
    assert by_time.json()["data"] == story.steps[1].answers["GetUser"]["result"]


async def test_a_settled_answer_is_cached_by_version_in_one_hash_per_document(
    query_client_with: Any, redis_client: Any, story: Story, projector_settings: Any
) -> None:
    async with query_client_with(CQRS__QUERY_SERVICE__TIME_TRAVEL_SETTLE="0") as settled:
        once = await answer(settled, "GetUser", story.data("GetUser", as_of=1))
        twice = await answer(settled, "GetUser", story.data("GetUser", as_of=1))
    assert (once["from_cache"], twice["from_cache"]) == (False, True)
    assert (
        without_as_of(twice) == without_as_of(once) == without_as_of(story.versions[("GetUser", 1)])
    )
    assert twice["as_of"] == once["as_of"]
    key = channels.past_answers(projector_settings.redis.prefix, "UserReadModel", story.ids["user"])
    assert "v:1" in await redis_client.hkeys(key)


@pytest.mark.parametrize("query", list(GETS))
async def test_unknown_versions_and_times_before_creation_are_404(
    queries: AsyncTestClient, story: Story, query: str
) -> None:
    before = (story.steps[0].at - timedelta(minutes=5)).isoformat()
    for as_of in (999, before):
        reply = await ask(queries, query, story.data(query, as_of=as_of))
        assert reply.status_code == 404, (query, as_of, reply.text)
        assert reply.json()["error"]["code"] == "not_found"
    unknown = await ask(queries, query, {GETS[query][0]: "nobody-here", "as_of": 1})
    assert unknown.status_code == 404, unknown.text


async def test_garbage_as_of_is_422_in_the_one_error_shape(
    queries: AsyncTestClient, story: Story
) -> None:
    for as_of in ("last tuesday", "2026-01-01T00:00:00", 0, {"$gt": 1}):
        reply = await ask(queries, "GetUser", story.data("GetUser", as_of=as_of))
        assert reply.status_code == 422, reply.text
        error = reply.json()["error"]
        assert error["code"] == "validation_failed"
        assert [f["field"] for f in error["details"]["fields"]] == ["as_of"]
    route = await queries.get(f"{READ_MODELS}/{story.ids['user']}", params={"as_of": "soon"})
    assert route.status_code == 422, route.text
    assert route.json()["error"]["details"]["fields"][0]["field"] == "as_of"


async def test_a_history_past_the_bound_is_422_history_too_long(
    query_client_with: Any, story: Story
) -> None:
    # the first order's v4 is fed by 7 events (its creation; per payment and refund the
    # payment's event and the order's update): a bound of 4 refuses it, v1 still answers
    async with query_client_with(CQRS__QUERY_SERVICE__TIME_TRAVEL_MAX_EVENTS="4") as bounded:
        early = await ask(bounded, "GetOrderPayments", story.data("GetOrderPayments", as_of=1))
        assert early.status_code == 200, early.text
        late = await ask(bounded, "GetOrderPayments", story.data("GetOrderPayments", as_of=4))
        assert late.status_code == 422, late.text
        assert late.json()["error"]["code"] == "history_too_long"
        assert late.json()["error"]["details"] == {"limit": 4}

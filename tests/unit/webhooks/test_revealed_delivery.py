"""Webhook handlers get events revealed (plaintext, or erased once the user's key is
destroyed), never the sealed form; a key not there yet rewinds the event (retried, not
skipped); a UserForgotten event erases the user's stored deliveries."""

import json
import uuid

from cqrs_contracts.privacy import ERASED
from cqrs_event_store.privacy.cipher import data_key, new_material
from cqrs_event_store.privacy.sealing import seal_fields
from projector.application.forgetting import Forgetting
from tests.unit.projector.fakes import MemoryErasure, MemoryKeys
from tests.unit.webhooks.helpers import envelope, handler
from tests.unit.webhooks.test_consumer import rig


async def test_handlers_get_plaintext_then_the_erased_form_and_forgetting_erases_deliveries() -> (
    None
):
    uid, key = str(uuid.uuid4()), data_key("k", "u", new_material())
    keys, erasure = MemoryKeys({"k": key}), MemoryErasure()
    r = await rig(handler("UserCreated", "UserForgotten"), forgetting=Forgetting(keys, erasure))
    created = envelope("UserCreated")
    data = {"user_id": uid, "name": "Ada", "email": "a@example.com"}
    body = created.model_copy(update={"data": seal_fields(data, {"name", "email"}, key)})
    r.topic.publish(body.model_dump_json().encode())
    forgot = envelope("UserForgotten")
    r.topic.publish(
        forgot.model_copy(update={"data": {"user_id": uid, "name": ERASED}, "schema_version": 1})
        .model_dump_json()
        .encode()
    )

    await r.loop.step()
    keys.keys["k"] = None  # destroyed: a redelivery now reads erased
    r.topic.publish(body.model_dump_json().encode())
    await r.loop.step()
    await r.loop.step()

    sent = [json.loads(b)["data"] for _, b, _ in r.receivers.requests]
    assert [(d["name"], d["email"]) for d in sent[::2]] == [
        ("Ada", "a@example.com"),
        (ERASED, ERASED),
    ]
    assert sent[1] == {"user_id": uid, "name": ERASED}
    assert erasure.erased == [uid]
    assert keys.forgotten == [uid]


async def test_an_event_whose_key_is_not_there_yet_is_delivered_later_not_skipped() -> None:
    keys = MemoryKeys()
    r = await rig(handler("UserCreated"), forgetting=Forgetting(keys, MemoryErasure()))
    key = data_key("late", "u1", new_material())
    data = seal_fields({"user_id": "u1", "name": "Ada"}, {"name"}, key)
    event = envelope("UserCreated").model_copy(update={"data": data})
    r.topic.publish(event.model_dump_json().encode())

    await r.loop.step()
    assert r.receivers.requests == []
    assert r.consumer.commits == []
    assert r.pauses != []  # rewound after a pause
    keys.keys["late"] = key
    await r.loop.step()  # the same event again
    assert [json.loads(b)["data"]["name"] for _, b, _ in r.receivers.requests] == ["Ada"]
    assert r.consumer.commits == [{0: 1}]


async def test_an_event_no_handler_wants_costs_no_key_lookup() -> None:
    key = data_key("k", "u1", new_material())
    keys = MemoryKeys({"k": key})
    r = await rig(handler("OrderCreated"), forgetting=Forgetting(keys, MemoryErasure()))
    data = seal_fields({"user_id": "u1", "name": "Ada"}, {"name"}, key)
    r.topic.publish(
        envelope("UserCreated").model_copy(update={"data": data}).model_dump_json().encode()
    )
    await r.loop.step()
    assert r.receivers.requests == []
    assert keys.lookups == 0

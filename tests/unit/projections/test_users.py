"""UserReadModel: UserCreated, UserUpdated (only the fields it carries), UserDeleted."""

from cqrs_contracts.read_models import UserReadModel
from tests.unit.projections.helpers import (
    T0,
    Log,
    at,
    fold,
    new_id,
    user_created,
    user_deleted,
    user_updated,
)


def test_user_created_builds_the_document() -> None:
    uid = new_id()
    log = Log().add(user_created(uid))

    assert fold(UserReadModel, uid, log.entries) == UserReadModel(
        id=uid,
        name="Ada",
        email="ada@example.com",
        age=36,
        status="active",
        created_at=T0,
        versions={uid: 1},
        last_position=1,
        updated_at=at(1),
    )


def test_user_updated_changes_only_the_fields_it_carries() -> None:
    uid = new_id()
    log = Log().add(
        user_created(uid),
        user_updated(uid, name="Ada L."),
        user_updated(uid, email="ada@lovelace.org", age=37),
    )

    doc = fold(UserReadModel, uid, log.entries[:2])
    assert doc is not None
    assert (doc.name, doc.email, doc.age, doc.version) == ("Ada L.", "ada@example.com", 36, 2)

    doc = fold(UserReadModel, uid, log.entries)
    assert doc == UserReadModel(
        id=uid,
        name="Ada L.",
        email="ada@lovelace.org",
        age=37,
        created_at=T0,
        versions={uid: 3},
        last_position=3,
        updated_at=at(3),
    )


def test_user_deleted_marks_the_document_and_keeps_its_data() -> None:
    uid = new_id()
    log = Log().add(user_created(uid), user_deleted(uid))

    doc = fold(UserReadModel, uid, log.entries)

    assert doc is not None
    assert (doc.status, doc.deleted_at, doc.name, doc.version) == ("deleted", at(120), "Ada", 2)


def test_other_users_and_other_event_types_do_not_target_a_user() -> None:
    uid, other = new_id(), new_id()
    log = Log().add(user_created(other))

    assert fold(UserReadModel, uid, log.entries) is None

"""Users: given events, when a command, then events (and email claims) or an error."""

from command_service.domain.decisions import (
    EMAIL_SCOPE,
    UniqueClaim,
    create_user,
    delete_user,
    update_user,
)
from cqrs_contracts.commands import CreateUser, DeleteUser, UpdateUser
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import UserCreated, UserDeleted, UserUpdated
from tests.unit.domain.helpers import (
    NOW,
    ctx,
    fields_of,
    given,
    new_id,
    only_event,
    rejected,
    then,
    user_created,
    user_deleted,
)

# CreateUser


def test_create_user_emits_user_created_under_the_new_id() -> None:
    uid = new_id()
    decision = create_user(CreateUser(name="Ada", email="ada@example.com", age=36), ctx(uid))

    assert decision.aggregate_id == uid
    assert [(c.stream_type, c.stream_id) for c in decision.changes] == [("user", uid)]
    assert only_event(decision) == UserCreated(
        user_id=uid, name="Ada", email="ada@example.com", age=36, created_at=NOW
    )


def test_create_user_claims_the_lower_cased_email() -> None:
    uid = new_id()
    decision = create_user(CreateUser(name="Ada", email="Ada@Example.COM"), ctx(uid))

    assert decision.claims == (UniqueClaim(EMAIL_SCOPE, "ada@example.com", uid),)
    assert decision.releases == ()


def test_create_user_without_name_or_email_is_invalid() -> None:
    error = rejected(ErrorCode.VALIDATION_FAILED, 422, create_user, CreateUser(age=30), ctx())

    assert fields_of(error) == ["name", "email"]


# UpdateUser


def test_update_user_emits_only_the_changed_fields() -> None:
    uid = new_id()
    state = given(user_created(uid, name="Ada", age=36))

    decision = update_user(UpdateUser(user_id=uid, name="Ada L.", age=36), state, ctx())

    assert only_event(decision) == UserUpdated(user_id=uid, name="Ada L.", updated_at=NOW)
    assert decision.aggregate_id == uid
    assert decision.claims == decision.releases == ()


def test_update_user_with_a_new_email_claims_it_and_releases_the_old_one() -> None:
    uid = new_id()
    state = given(user_created(uid, email="Ada@Example.com"))

    decision = update_user(UpdateUser(user_id=uid, email="Ada@New.ORG"), state, ctx())

    assert decision.claims == (UniqueClaim(EMAIL_SCOPE, "ada@new.org", uid),)
    assert decision.releases == (UniqueClaim(EMAIL_SCOPE, "ada@example.com", uid),)
    assert then(state, decision, "user").email == "Ada@New.ORG"


def test_update_user_with_the_same_email_in_another_case_claims_nothing() -> None:
    uid = new_id()
    state = given(user_created(uid, email="ada@example.com"))

    decision = update_user(UpdateUser(user_id=uid, email="ADA@Example.com"), state, ctx())

    assert decision.claims == ()
    assert decision.releases == ()


def test_update_user_that_changes_nothing_is_refused() -> None:
    uid = new_id()
    state = given(user_created(uid, name="Ada", email="ada@example.com", age=36))
    same = UpdateUser(user_id=uid, name="Ada", email="ada@example.com", age=36)

    rejected(ErrorCode.NOTHING_TO_CHANGE, 409, update_user, same, state, ctx())


def test_update_user_without_fields_is_refused() -> None:
    uid = new_id()

    rejected(
        ErrorCode.NOTHING_TO_CHANGE,
        409,
        update_user,
        UpdateUser(user_id=uid),
        given(user_created(uid)),
        ctx(),
    )


def test_update_of_an_unknown_user_is_not_found() -> None:
    uid = new_id()
    error = rejected(
        ErrorCode.NOT_FOUND, 404, update_user, UpdateUser(user_id=uid, name="X"), given(), ctx()
    )

    assert error.details == {"id": uid}


def test_update_of_a_deleted_user_is_refused() -> None:
    uid = new_id()
    state = given(user_created(uid), user_deleted(uid))

    rejected(
        ErrorCode.USER_DELETED, 409, update_user, UpdateUser(user_id=uid, name="Bo"), state, ctx()
    )


def test_updates_fold_into_the_user_state() -> None:
    uid = new_id()
    state = given(user_created(uid, name="Ada", age=36))

    state = then(state, update_user(UpdateUser(user_id=uid, age=37), state, ctx()), "user")

    assert (state.name, state.age, state.deleted) == ("Ada", 37, False)


# DeleteUser


def test_delete_user_emits_user_deleted_and_releases_the_email() -> None:
    uid = new_id()
    state = given(user_created(uid, email="Ada@Example.com"))

    decision = delete_user(DeleteUser(user_id=uid), state, ctx())

    assert only_event(decision) == UserDeleted(user_id=uid, deleted_at=NOW)
    assert decision.releases == (UniqueClaim(EMAIL_SCOPE, "ada@example.com", uid),)
    assert decision.claims == ()
    assert then(state, decision, "user").deleted is True


def test_delete_of_an_unknown_user_is_not_found() -> None:
    rejected(ErrorCode.NOT_FOUND, 404, delete_user, DeleteUser(user_id=new_id()), None, ctx())


def test_delete_of_a_deleted_user_is_refused() -> None:
    uid = new_id()
    state = given(user_created(uid), user_deleted(uid))

    rejected(ErrorCode.USER_DELETED, 409, delete_user, DeleteUser(user_id=uid), state, ctx())

"""ForgetUser: the user's personal data is erased for good (their key is destroyed by
the adapter), their email freed, and nothing more is done on them (410)."""

from typing import Any

import pytest

from command_service.domain.decisions import (
    EMAIL_SCOPE,
    UniqueClaim,
    create_order,
    delete_user,
    forget_user,
    update_user,
)
from command_service.domain.model import User
from cqrs_contracts.commands import CreateOrder, DeleteUser, ForgetUser, UpdateUser
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import UserForgotten, UserUpdated
from cqrs_contracts.privacy import ERASED
from tests.unit.domain.helpers import (
    NOW,
    ctx,
    given,
    new_id,
    only_event,
    rejected,
    user_created,
    user_deleted,
)


def forgotten(uid: str) -> UserForgotten:
    return UserForgotten(user_id=uid, updated_at=NOW)


def test_forget_user_emits_user_forgotten_and_releases_the_email() -> None:
    uid = new_id()
    decision = forget_user(ForgetUser(user_id=uid), given(user_created(uid, "Ada@X.io")), ctx())

    assert only_event(decision) == UserForgotten(user_id=uid, updated_at=NOW)
    assert decision.releases == (UniqueClaim(EMAIL_SCOPE, "ada@x.io", uid),)
    assert decision.claims == ()


def test_a_deleted_user_can_be_forgotten_and_their_released_email_is_not_released_twice() -> None:
    uid = new_id()
    state = given(user_created(uid), user_deleted(uid))
    decision = forget_user(ForgetUser(user_id=uid), state, ctx())

    assert isinstance(only_event(decision), UserForgotten)
    assert decision.releases == ()


def test_a_user_never_created_cannot_be_forgotten() -> None:
    rejected(ErrorCode.NOT_FOUND, 404, forget_user, ForgetUser(user_id="nobody"), None, ctx())


def test_the_forgotten_state_is_erased_and_marked_even_though_it_is_an_update() -> None:
    uid = new_id()
    state = given(user_created(uid, age=40), forgotten(uid))

    assert state == User(uid, ERASED, ERASED, 40, deleted=False, forgotten=True)
    # a plain update with the same erased values would not mark them forgotten
    updated = given(user_created(uid), UserUpdated(user_id=uid, name=ERASED, updated_at=NOW))
    assert not updated.forgotten


@pytest.mark.parametrize(
    ("decide", "command"),
    [
        (update_user, lambda uid: UpdateUser(user_id=uid, age=50)),
        (delete_user, lambda uid: DeleteUser(user_id=uid)),
        (forget_user, lambda uid: ForgetUser(user_id=uid)),
        (create_order, lambda uid: CreateOrder(user_id=uid, amount="5", currency="USD")),
    ],
)
def test_every_command_on_a_forgotten_user_is_refused_as_gone(decide: Any, command: Any) -> None:
    uid = new_id()
    for history in (
        (user_created(uid), forgotten(uid)),
        (user_created(uid), user_deleted(uid), forgotten(uid)),
    ):
        error = rejected(
            ErrorCode.USER_FORGOTTEN, 410, decide, command(uid), given(*history), ctx()
        )
        assert error.details == {"id": uid}

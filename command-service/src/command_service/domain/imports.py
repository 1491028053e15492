"""What an imported event (admin `POST /events`) must respect: the rules a command
enforces that do not depend on the command itself. A creation event starts an empty
stream; any other event needs the stream to exist; the email uniqueness claims move with
the user's events exactly as the user commands move them."""

from command_service.domain.decisions import UniqueClaim, email_claim
from command_service.domain.errors import NotFoundError, RuleBrokenError
from command_service.domain.model import Aggregate, User
from cqrs_contracts.errors import ErrorCode
from cqrs_contracts.events import (
    EventData,
    OrderCreated,
    PaymentProcessed,
    UserCreated,
    UserDeleted,
    UserUpdated,
)

CREATION_EVENTS = (UserCreated, OrderCreated, PaymentProcessed)

Claims = tuple[tuple[UniqueClaim, ...], tuple[UniqueClaim, ...]]


def admit_import(
    event: EventData, stream_id: str, state: Aggregate | None, version: int, kind: str | None
) -> Claims:
    """The claims the event takes and releases, or a DomainError: a creation event on a
    stream that exists (409 stream_exists), another event on one that does not (404)."""
    if isinstance(event, CREATION_EVENTS):
        if version > 0:
            raise RuleBrokenError(
                ErrorCode.STREAM_EXISTS,
                f"{event.event_type()} starts a stream; {stream_id} is at version {version}",
                stream_id=stream_id,
                current_version=version,
            )
    elif version == 0 or kind != event.STREAM_TYPE:
        raise NotFoundError(event.STREAM_TYPE, stream_id)
    return _claims(event, stream_id, state)


def _claims(event: EventData, stream_id: str, state: Aggregate | None) -> Claims:
    if isinstance(event, UserCreated):
        return (email_claim(event.email, stream_id),), ()
    if not isinstance(state, User) or state.deleted:  # a deleted user holds no email
        return (), ()
    held = email_claim(state.email, stream_id)
    if isinstance(event, UserUpdated) and event.email is not None:
        wanted = email_claim(event.email, stream_id)
        return ((wanted,), (held,)) if wanted != held else ((), ())
    if isinstance(event, UserDeleted):
        return (), (held,)
    return (), ()

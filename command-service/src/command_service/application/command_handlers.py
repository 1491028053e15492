"""One handler per command type: load what the decision needs, then decide."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from command_service.application.ports import WriteSession
from command_service.domain import decisions as d
from command_service.domain.model import Order, Payment, User
from cqrs_contracts import commands as c
from cqrs_contracts.errors import FieldError


async def _user(session: WriteSession, user_id: str | None) -> User | None:
    state = await session.load("user", user_id) if user_id else None
    return state if isinstance(state, User) else None


async def _order(session: WriteSession, order_id: str | None) -> Order | None:
    state = await session.load("order", order_id) if order_id else None
    return state if isinstance(state, Order) else None


async def _payment(session: WriteSession, payment_id: str) -> Payment | None:
    state = await session.load("payment", payment_id)
    return state if isinstance(state, Payment) else None


async def create_user(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.create_user(cmd, ctx)


async def update_user(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.update_user(cmd, await _user(s, cmd.user_id), ctx)


async def delete_user(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.delete_user(cmd, await _user(s, cmd.user_id), ctx)


async def forget_user(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.forget_user(cmd, await _user(s, cmd.user_id), ctx)


async def create_order(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.create_order(cmd, await _user(s, cmd.user_id), ctx)


async def update_order(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.update_order(cmd, await _order(s, cmd.order_id), ctx)


async def cancel_order(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.cancel_order(cmd, await _order(s, cmd.order_id), ctx)


async def process_payment(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    return d.process_payment(cmd, await _order(s, cmd.order_id), ctx)


async def refund_payment(s: WriteSession, cmd: Any, ctx: d.Context) -> d.Decision:
    payment = await _payment(s, cmd.payment_id)
    order = await _order(s, payment.order_id) if payment else None
    return d.refund_payment(cmd, payment, order, ctx)


Handler = Callable[[WriteSession, Any, d.Context], Awaitable[d.Decision]]


DataCheck = Callable[[dict[str, Any]], list[FieldError]]


@dataclass(frozen=True)
class CommandSpec:
    """How a command type is handled and which stream `expected_version` refers to."""

    contract: type[c.CommandData]
    handler: Handler
    target: tuple[str, str] | None  # (stream type, data field naming its id); None: a new stream
    # a new stream's owner: the data field naming the stream whose shard it joins (None:
    # a stream of its own, placed on a shard; cqrs_event_store.shards)
    owner: str | None = None
    check: DataCheck | None = None  # a declared command's JSON Schema, instead of config rules
    admin_only: bool = False  # refused (403) to a caller without the admin role


BUILT_IN: dict[str, CommandSpec] = {
    "CreateUser": CommandSpec(c.CreateUser, create_user, None),
    "UpdateUser": CommandSpec(c.UpdateUser, update_user, ("user", "user_id")),
    "DeleteUser": CommandSpec(c.DeleteUser, delete_user, ("user", "user_id")),
    "ForgetUser": CommandSpec(c.ForgetUser, forget_user, ("user", "user_id"), admin_only=True),
    "CreateOrder": CommandSpec(c.CreateOrder, create_order, None, owner="user_id"),
    "UpdateOrder": CommandSpec(c.UpdateOrder, update_order, ("order", "order_id")),
    "CancelOrder": CommandSpec(c.CancelOrder, cancel_order, ("order", "order_id")),
    "ProcessPayment": CommandSpec(c.ProcessPayment, process_payment, ("order", "order_id")),
    "RefundPayment": CommandSpec(c.RefundPayment, refund_payment, ("payment", "payment_id")),
}

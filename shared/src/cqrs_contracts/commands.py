"""The data of each command type. Tolerant: unknown fields are ignored.

Types are checked here; the configurable rules (lengths, ranges, formats, enums)
come from `cqrs.validation_rules` and are applied by `cqrs_contracts.validation`.
"""

from typing import ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from cqrs_contracts.money import Amount
from cqrs_contracts.privacy import OptionalPersonalStr


class CommandData(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # Which `cqrs.validation_rules` group applies, and whether its `required` flags do
    # (partial updates only check the fields they carry).
    RULES: ClassVar[str | None] = None
    PARTIAL: ClassVar[bool] = False


def _id(*names: str) -> AliasChoices:
    return AliasChoices(*names, "id")


class CreateUser(CommandData):
    RULES = "user"
    name: OptionalPersonalStr = None
    email: OptionalPersonalStr = None
    age: int | None = None


class UpdateUser(CommandData):
    RULES = "user"
    PARTIAL = True
    user_id: str = Field(validation_alias=_id("user_id"))
    name: OptionalPersonalStr = None
    email: OptionalPersonalStr = None
    age: int | None = None


class DeleteUser(CommandData):
    user_id: str = Field(validation_alias=_id("user_id"))


class ForgetUser(CommandData):
    """Erase a user's personal data for good (admin only): their data key is destroyed,
    and every command on them is refused from then on."""

    user_id: str = Field(validation_alias=_id("user_id"))


class CreateOrder(CommandData):
    RULES = "order"
    user_id: str | None = None
    amount: Amount | None = None
    currency: str | None = None
    description: str | None = Field(default=None, max_length=500)


class UpdateOrder(CommandData):
    RULES = "order"
    PARTIAL = True
    order_id: str = Field(validation_alias=_id("order_id"))
    amount: Amount | None = None
    currency: str | None = None
    description: str | None = Field(default=None, max_length=500)


class CancelOrder(CommandData):
    order_id: str = Field(validation_alias=_id("order_id"))
    reason: str | None = Field(default=None, max_length=500)


class ProcessPayment(CommandData):
    RULES = "payment"
    order_id: str | None = None
    amount: Amount | None = None
    currency: str | None = None
    method: str | None = None


class RefundPayment(CommandData):
    payment_id: str = Field(validation_alias=_id("payment_id"))
    amount: Amount = Field(gt=0)
    reason: str | None = Field(default=None, max_length=500)


COMMAND_TYPES: dict[str, type[CommandData]] = {
    cls.__name__: cls
    for cls in (
        CreateUser,
        UpdateUser,
        DeleteUser,
        ForgetUser,
        CreateOrder,
        UpdateOrder,
        CancelOrder,
        ProcessPayment,
        RefundPayment,
    )
}

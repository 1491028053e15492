"""Domain errors: a rule of the model said no. Each carries a stable code."""

from cqrs_contracts.errors import ErrorCode


class DomainError(Exception):
    status = 409

    def __init__(self, code: ErrorCode, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class NotFoundError(DomainError):
    """The aggregate a command names does not exist."""

    status = 404

    def __init__(self, kind: str, aggregate_id: str) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{kind} {aggregate_id} not found", id=aggregate_id)


class RuleBrokenError(DomainError):
    """A business rule forbids the command in the aggregate's current state."""

    status = 409


class InvalidCommandError(DomainError):
    """The command lacks what the model needs (when config validation is off)."""

    status = 422


class ForgottenError(DomainError):
    """The user asked to be forgotten: gone for good, nothing more is done on them."""

    status = 410

    def __init__(self, user_id: str) -> None:
        super().__init__(ErrorCode.USER_FORGOTTEN, f"user {user_id} was forgotten", id=user_id)

"""UserReadModel: one document per user stream."""

from cqrs_contracts.events import EventData, UserCreated, UserDeleted, UserUpdated
from cqrs_contracts.read_models import UserReadModel


def apply_user(doc: UserReadModel | None, event: EventData) -> UserReadModel | None:
    match event:
        case UserCreated():
            return UserReadModel(
                id=event.user_id,
                name=event.name,
                email=event.email,
                age=event.age,
                created_at=event.created_at,
            )
        case UserUpdated():
            base = doc or UserReadModel(id=event.user_id)
            changes = event.model_dump(include={"name", "email", "age"}, exclude_none=True)
            return base.model_copy(update=changes)
        case UserDeleted():
            base = doc or UserReadModel(id=event.user_id)
            return base.model_copy(update={"status": "deleted", "deleted_at": event.deleted_at})
    return doc


def user_targets(event: EventData) -> list[str]:
    return [event.user_id] if isinstance(event, UserCreated | UserUpdated | UserDeleted) else []

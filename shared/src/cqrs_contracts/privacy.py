"""Personal data in the contracts: which fields are personal (`Personal` in a field's
annotation), whose they are (the `user_id` of the payload: the subject), and what an
erased value reads as once its subject is forgotten.

Personal fields are stored sealed with the subject's data key (see
`cqrs_event_store.privacy`); forgetting the subject destroys the key, and from then on
every copy reads as `ERASED`."""

from functools import cache
from typing import Annotated

from pydantic import BaseModel

ERASED = "[erased]"
SUBJECT_FIELD = "user_id"


class Personal:
    """Marks a field as personal data: `name: Annotated[str, PERSONAL]`."""

    def __repr__(self) -> str:
        return "PERSONAL"


PERSONAL = Personal()
PersonalStr = Annotated[str, PERSONAL]
OptionalPersonalStr = Annotated[str | None, PERSONAL]


@cache
def personal_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of the fields of `model` marked personal."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, Personal) for m in info.metadata)
    )

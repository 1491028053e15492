"""The `type` naming a read model in the /read-models routes (a query parameter or the
body's field), served by the query-service (reads) and the projector (corrections)."""

from cqrs_contracts.read_models import READ_MODELS, ReadModel
from cqrs_http.errors import invalid_input


def read_model_type(type_: str) -> type[ReadModel]:
    """The read model `type_` names, or the 422 naming the field `type`."""
    model = READ_MODELS.get(type_)
    if model is None:
        raise invalid_input(
            "unknown read model type",
            [{"field": "type", "message": f"one of {sorted(READ_MODELS)}"}],
        )
    return model

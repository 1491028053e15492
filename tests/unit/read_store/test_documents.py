"""The stored format has one definition per read model: a Beanie document over exactly
its contract model, in a collection of its own, indexed on fields the model has."""

from cqrs_contracts.read_models import READ_MODELS
from cqrs_read_store.documents import COLLECTIONS, DOCUMENTS, INDEXES


def test_every_read_model_has_one_document_over_its_contract() -> None:
    assert set(DOCUMENTS) == set(READ_MODELS) == set(COLLECTIONS) == set(INDEXES)
    for name, document in DOCUMENTS.items():
        assert issubclass(document, READ_MODELS[name])
        assert set(document.model_fields) - {"revision_id"} == set(READ_MODELS[name].model_fields)


def test_each_read_model_has_a_collection_of_its_own() -> None:
    assert len(set(COLLECTIONS.values())) == len(COLLECTIONS)


def test_every_index_is_on_fields_the_model_has() -> None:
    for name, indexes in INDEXES.items():
        assert indexes, name
        for index in indexes:
            keys = index.document["key"]
            assert set(keys) <= set(READ_MODELS[name].model_fields), (name, keys)

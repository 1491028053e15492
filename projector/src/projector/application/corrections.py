"""Admin corrections of read-model documents (POST/DELETE /read-models), applied by the
projector through the same compare-and-set writer and the same announcement as events.

A correction is temporary by design: the next event of the document's stream is applied
on top of it (fields that event sets win; a correction without `versions` is replaced by
the stream's history), and a rebuild replaces it entirely. It moves the revision counter
(`_rev`) like any write, so a projector replica that read the document before sees the
change and re-reads instead of clobbering it."""

from dataclasses import dataclass

from cqrs_contracts.read_models import ChangeNotification, ReadModel
from projector.application.ports import ConcurrentChangeError, Notifier, Views

MAX_ATTEMPTS = 20


class CorrectionNotAppliedError(Exception):
    """The document kept changing under the correction; nothing was stored."""


@dataclass
class Corrections:
    views: Views  # the live read models (a rebuild replaces corrections anyway)
    notifier: Notifier

    async def put(self, doc: ReadModel) -> int:
        """Store `doc` (insert or replace) and announce it; its new revision."""
        for _ in range(MAX_ATTEMPTS):
            _, revision = await self.views.load(type(doc), doc.id)
            try:
                stored = await self.views.save(doc, revision)
            except ConcurrentChangeError:
                continue
            await self._announce(doc.NAME, doc.id, doc.version, doc.model_dump(mode="json"))
            return stored
        raise CorrectionNotAppliedError(f"{doc.NAME} {doc.id} kept changing; not applied")

    async def delete(self, model: type[ReadModel], doc_id: str) -> bool:
        """Remove the document and announce it; whether there was one."""
        if not await self.views.delete(model, doc_id):
            return False
        await self._announce(model.NAME, doc_id, 0, None)
        return True

    async def _announce(
        self, read_model: str, doc_id: str, version: int, data: dict[str, object] | None
    ) -> None:
        note = ChangeNotification(
            read_model=read_model, id=doc_id, version=version, position=0, data=data
        )
        await self.notifier.published_many([note], [])  # no event behind a correction

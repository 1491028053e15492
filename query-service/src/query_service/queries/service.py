"""Run a query: validate it against its contract, wait for a consistency token when one
is given, answer from the cache or the read store (a get query `as_of` a point in the
past: folded from the event store, queries/past.py), and log it."""

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import ValidationError

from cqrs_contracts import queries as q
from cqrs_contracts.consistency import InvalidTokenError, decode_token
from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_contracts.handlers import QueryDeclaration
from cqrs_contracts.settings import Settings
from query_service.queries.declared import BadParamsError, DeclaredQuery, parse_declared
from query_service.queries.filters import (
    BadQueryError,
    after_cursor,
    build_filter,
    make_cursor,
    sort_of,
)
from query_service.queries.past import PastQueryError, TimeTravel
from query_service.queries.ports import Cache, Log, ReadModels, Waiter
from query_service.queries.redaction import redacted


class QueryFailedError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message, **details)


_encode = msgspec.json.Encoder(enc_hook=str).encode
_NO_HEADERS: dict[str, str] = {}
_STALE = {"X-Consistency": "stale"}


@dataclass(frozen=True)
class Result:
    """What a query found, as JSON: `result` and, for one document, its `version` (and,
    as of a point in its past, the JSON of the `as_of` metadata)."""

    json: bytes
    version: int | None = None
    as_of: bytes | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes  # the JSON body
    headers: dict[str, str] = field(default_factory=dict)
    # a consistency token's wait: reached, stale (ran out, stale allowed) or timeout
    waited: str | None = None


def _success(query_id: str, type_: str, outcome: dict[str, Any], result: Result) -> bytes:
    """{"query_id", "type", "from_cache", "stale", "result"[, "version"][, "as_of"]}, with
    the result's JSON as it is (cached bytes are never parsed and re-encoded)."""
    head = _encode({"query_id": query_id, "type": type_, **outcome})
    version = b"" if result.version is None else b',"version":%d' % result.version
    as_of = b"" if result.as_of is None else b',"as_of":' + result.as_of
    return b"".join((head[:-1], b',"result":', result.json, version, as_of, b"}"))


@dataclass
class QueryService:
    store: ReadModels
    cache: Cache
    waiter: Waiter
    log: Log
    settings: Settings
    past: TimeTravel | None = None  # None: no event store (as_of answers 503)
    declared: dict[str, QueryDeclaration] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()  # built-in types an admin switched off

    def use(self, declared: dict[str, QueryDeclaration], disabled: frozenset[str]) -> None:
        """Switch to another set of query types (the handler registry's latest)."""
        self.declared, self.disabled = declared, disabled

    def knows(self, query_type: str) -> bool:
        """A built-in or declared type (else metrics count it as `other`)."""
        return query_type in q.QUERY_TYPES or query_type in self.declared

    async def run(
        self,
        request: q.QueryRequest,
        actor: str | None,
        token: str | None,
        allow_stale: bool = False,
    ) -> Answer:
        """`allow_stale` adds to the request's own (the X-Allow-Stale header)."""
        started = time.perf_counter()
        query_id = str(uuid.uuid4())
        outcome: dict[str, Any] = {"from_cache": False, "stale": False}
        waited = None
        try:
            query = self._parse(request)
            if token:
                waited = "timeout"  # unless the wait returns
                outcome["stale"] = await self._wait(token, request.allow_stale or allow_stale)
                waited = "stale" if outcome["stale"] else "reached"
            result = await self._execute(query, outcome)
            content = _success(query_id, request.type, outcome, result)
            headers = _STALE if outcome["stale"] else _NO_HEADERS
            answer = Answer(200, content, headers, waited)
        except QueryFailedError as failed:
            waited = waited if failed.status == 504 or waited != "timeout" else None
            answer = Answer(failed.status, _encode(failed.body), waited=waited)
        self._log(
            query_id=query_id,
            request=request,
            actor=actor,
            answer=answer,
            outcome=outcome,
            started=started,
        )
        return answer

    def _parse(self, request: q.QueryRequest) -> q.QueryData | DeclaredQuery:
        if request.type in self.disabled:
            message = f"query type {request.type!r} is disabled"
            raise QueryFailedError(400, ErrorCode.QUERY_DISABLED, message, type=request.type)
        if (declaration := self.declared.get(request.type)) is not None:
            try:
                return parse_declared(declaration, request.data)
            except BadParamsError as bad:
                raise QueryFailedError(
                    422, ErrorCode.VALIDATION_FAILED, "invalid query", fields=bad.fields
                ) from bad
        supported = self.settings.cqrs.supported_query_types
        contract = q.QUERY_TYPES.get(request.type)
        if contract is None or (supported and request.type not in supported):
            known = sorted(t for t in q.QUERY_TYPES if not supported or t in supported)
            known += sorted(self.declared)
            raise QueryFailedError(
                400, ErrorCode.UNKNOWN_TYPE, f"unknown query type {request.type!r}", supported=known
            )
        try:
            return contract.model_validate(request.data)
        except ValidationError as invalid:
            fields = [
                {
                    "field": ".".join(map(str, e["loc"])) or "data",
                    "message": e["msg"],
                    "rule": e["type"],
                }
                for e in invalid.errors()
            ]
            raise QueryFailedError(
                422, ErrorCode.VALIDATION_FAILED, "invalid query", fields=fields
            ) from invalid

    async def _wait(self, token: str, allow_stale: bool) -> bool:
        """Whether the answer will be stale (the wait ran out and stale was allowed)."""
        try:
            wanted = decode_token(token)
        except InvalidTokenError as bad:
            raise QueryFailedError(400, ErrorCode.BAD_REQUEST, str(bad)) from bad
        timeout = self.settings.query_service.consistency_timeout
        behind = await self.waiter.wait(wanted, timeout)
        if behind and not allow_stale:
            raise QueryFailedError(
                504,
                ErrorCode.TIMEOUT,
                f"read models did not reach the token within {timeout}s",
                behind=[f"{b.stream_type}:{b.stream_id}@{b.version}" for b in behind],
            )
        return bool(behind)

    async def _execute(self, query: q.QueryData | DeclaredQuery, outcome: dict[str, Any]) -> Result:
        if isinstance(query, DeclaredQuery):
            return await self._declared(query, outcome)
        if isinstance(query, q.ListQuery):
            return await self._list(query, outcome)
        doc_id = str(getattr(query, query.ID_FIELD))  # type: ignore[attr-defined]
        if isinstance(query, q.PastQuery) and query.as_of is not None:
            return await self._as_of(query.READ_MODEL, doc_id, query.as_of, outcome)
        return await self._get(query.READ_MODEL, doc_id, outcome)

    async def _as_of(
        self, read_model: str, doc_id: str, as_of: int | datetime, outcome: dict[str, Any]
    ) -> Result:
        if self.past is None:
            raise QueryFailedError(
                503, ErrorCode.DEPENDENCY_UNAVAILABLE, "time travel has no event store"
            )
        try:
            past = await self.past.answer(read_model, doc_id, as_of)
        except PastQueryError as failed:
            raise QueryFailedError(
                failed.status, failed.code, str(failed), **failed.details
            ) from failed
        outcome["from_cache"] = past.from_cache
        return Result(past.result, past.version, past.as_of)

    async def _get(self, read_model: str, doc_id: str, outcome: dict[str, Any]) -> Result:
        # the generation comes with the cache lookup: read before the store is
        cached, version, generation = await self.cache.document(read_model, doc_id)
        if cached is not None:
            outcome["from_cache"] = True
            return Result(cached, version)
        doc = await self.store.get(read_model, doc_id)
        if doc is None:
            raise QueryFailedError(404, ErrorCode.NOT_FOUND, f"{read_model} {doc_id} not found")
        data = doc.model_dump(mode="json")
        raw = _encode(data)
        await self.cache.put(self.cache.doc_key(read_model, doc_id), raw, read_model, generation)
        return Result(raw, data.get("versions", {}).get(doc_id, 0))

    async def _list(self, query: q.ListQuery, outcome: dict[str, Any]) -> Result:
        read_model = query.READ_MODEL
        params = {"q": type(query).__name__, **query.model_dump(mode="json")}
        cached, generation = await self.cache.page(read_model, params)
        if cached is not None:
            outcome["from_cache"] = True
            return Result(cached)
        try:
            where = build_filter(query)
            sort = sort_of(query)
            if query.cursor:
                where = (
                    {"$and": [where, after_cursor(query.cursor, *sort)]}
                    if where
                    else after_cursor(query.cursor, *sort)
                )
        except BadQueryError as bad:
            raise QueryFailedError(
                422,
                ErrorCode.VALIDATION_FAILED,
                str(bad),
                fields=[{"field": bad.field, "message": str(bad)}],
            ) from bad
        page = await self.store.page(read_model, where, sort, query.limit)
        items = [d.model_dump(mode="json") for d in page.items]
        last = page.items[-1] if page.has_more else None
        result = {
            "items": items,
            "next_cursor": make_cursor(getattr(last, sort[0]), str(last.id)) if last else None,
        }
        raw = _encode(result)
        await self.cache.put(
            self.cache.list_key(read_model, generation, params), raw, read_model, generation
        )
        return Result(raw)

    async def _declared(self, query: DeclaredQuery, outcome: dict[str, Any]) -> Result:
        decl = query.declaration
        params = {"q": decl.model_dump(mode="json"), **query.params}
        cached, generation = await self.cache.page(decl.read_model, params)
        if cached is not None:
            outcome["from_cache"] = True
            return Result(cached)
        page = await self.store.page(decl.read_model, query.where, query.sort, query.limit)
        shown = {"id", *decl.projection}
        last = page.items[-1] if page.has_more else None
        sort_field = "id" if query.sort[0] == "_id" else query.sort[0]
        result = {
            "items": [d.model_dump(mode="json", include=shown) for d in page.items],
            "next_cursor": make_cursor(getattr(last, sort_field), str(last.id)) if last else None,
        }
        raw = _encode(result)
        key = self.cache.list_key(decl.read_model, generation, params)
        await self.cache.put(key, raw, decl.read_model, generation)
        return Result(raw)

    def _log(
        self,
        *,
        query_id: str,
        request: q.QueryRequest,
        actor: str | None,
        answer: Answer,
        outcome: dict[str, Any],
        started: float,
    ) -> None:
        if not self.settings.cqrs.auditing_enabled:
            return
        self.log.record(
            {
                "query_id": query_id,
                "type": request.type,
                "data": redacted(request.data),  # never a personal value
                "actor": actor,
                "status": answer.status,
                "source": "cache" if outcome["from_cache"] else "store",
                "stale": outcome["stale"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "at": datetime.now(UTC),
            }
        )

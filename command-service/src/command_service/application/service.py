"""The command service: validate, deduplicate, load-decide-append with retries, log.

On a sharded event store (cqrs_event_store.shards) each command is written on one shard,
its route: the shard of the stream it names (`CommandSpec.target`, or `owner` for a new
stream that joins its owner's), or for a new user the shard placed by its idempotency
key (the same key, the same shard) or in turn. Everything of the command goes there: its
events, outbox rows, log row and remembered answer, so it stays one transaction; each
shard has its own group commit. A unique value (an email) is claimed on the owner's
shard and held on every other while that transaction commits (`UniqueHolds`)."""

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from command_service.application.command_handlers import BUILT_IN, CommandSpec
from command_service.application.group_commit import GroupCommit
from command_service.application.ports import (
    BatchConflictError,
    BatchSession,
    ClaimTakenError,
    CommandIdTakenError,
    CommandListener,
    CommandRecord,
    DuplicateKeyError,
    ForgottenSubjectError,
    StoredAnswer,
    VersionConflictError,
    WriteSession,
    WriteStore,
)
from command_service.application.unique_holds import UniqueHolds
from command_service.application.validation import parse_command
from command_service.domain.decisions import Context, Decision
from command_service.domain.errors import DomainError
from cqrs_contracts.consistency import StreamVersion, encode_token
from cqrs_contracts.envelopes import CommandRequest, CommandResult, EventEnvelope, EventMetadata
from cqrs_contracts.errors import ErrorCode, error_body
from cqrs_contracts.settings import Settings
from cqrs_event_store.shards import ShardMap, UnknownShardError


@dataclass(frozen=True)
class Caller:
    """Who sent the command and with which request context."""

    actor: str | None = None
    idempotency_key: str | None = None
    traceparent: str | None = None
    admin: bool = False  # holds the admin role (or auth is off): may send admin-only types


class RejectedError(Exception):
    """A command refused before or by the domain: an HTTP status and an error body."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message, **details)


@dataclass(frozen=True)
class _Refusable:
    """What a refusal needs: the log record, the idempotency key, its expiry and the
    request's fingerprint."""

    record: CommandRecord
    key: str | None
    expires: datetime
    started: float
    fingerprint: str | None
    shard: int  # where it is written: its route, or the key's placement when refused early


@dataclass(frozen=True)
class _Job(_Refusable):
    """One command in flight: what was asked, its parsed data and its log record."""

    request: CommandRequest
    spec: CommandSpec
    command: Any
    metadata: EventMetadata


@dataclass
class CommandService:
    store: WriteStore  # the event store's shard 0 (its only one, unless sharded)
    settings: Settings
    on_commit: CommandListener = field(default=lambda shard: None)
    commands: dict[str, CommandSpec] = field(default_factory=lambda: dict(BUILT_IN))
    disabled: frozenset[str] = frozenset()  # built-in types an admin switched off
    other_shards: Sequence[WriteStore] = ()  # shards 1.. of a sharded event store, in order

    def use(self, commands: dict[str, CommandSpec], disabled: frozenset[str]) -> None:
        """Switch to another set of command types (the handler registry's latest)."""
        self.commands, self.disabled = commands, disabled

    def __post_init__(self) -> None:
        cs = self.settings.command_service
        self.stores: tuple[WriteStore, ...] = (self.store, *self.other_shards)
        self.shards = ShardMap(len(self.stores))
        self._holds = UniqueHolds(self.stores)
        # the batches in flight are shared by the shards (at least one each): more slots
        # than that only make each shard's batches smaller, and cost per command grows
        slots = max(1, cs.group_commit_batches // len(self.stores))
        self._commits = [
            GroupCommit(self._write_batch, cs.group_commit_max, slots) for _ in self.stores
        ]
        self._clashed = 0  # batches that were run command by command after a clash

    def group_commit_stats(self) -> dict[str, int]:
        batches, jobs = sum(c.batches for c in self._commits), sum(c.jobs for c in self._commits)
        return {"batches": batches, "commands": jobs, "clashed": self._clashed}

    async def execute(self, request: CommandRequest, caller: Caller) -> StoredAnswer:
        """Handle one command and give the answer (status and body) to send back: only
        once its transaction (shared with the commands that arrived with it) committed."""
        started, received = time.perf_counter(), datetime.now(UTC)
        key = request.idempotency_key or caller.idempotency_key
        record = CommandRecord(
            command_id=request.id or str(uuid.uuid4()),
            type=request.type,
            status="accepted",
            http_status=200,
            aggregate_id=None,
            idempotency_key=key,
            actor=caller.actor,
            request=request.model_dump(mode="json"),
            error=None,
            event_ids=[],
            received_at=received,
            duration_ms=0,
        )
        expires = received + timedelta(seconds=self.settings.command_service.idempotency_ttl)
        fingerprint = _fingerprint(request) if key is not None else None
        placed = self.shards.place(key)
        refusable = _Refusable(record, key, expires, started, fingerprint, placed)
        try:
            job = self._prepare(request, caller, refusable)
        except RejectedError as rejected:
            if key is not None and (first := await self._answer(placed, key, received)):
                return await self._replay(first, refusable)
            return await self._refuse(refusable, rejected)
        if key is not None and (first := await self._answer(job.shard, key, received)):
            return await self._replay(first, job)
        return await self._commits[job.shard].submit(job)

    async def _answer(self, shard: int, key: str, now: datetime) -> StoredAnswer | None:
        return await self.stores[shard].find_answer(key, now)

    def _route(self, spec: CommandSpec, command: Any, job: _Refusable) -> int:
        """The shard a parsed command is written on (see the module's docstring)."""
        field_name = spec.target[1] if spec.target else spec.owner
        named = getattr(command, field_name, None) if field_name else None
        if not isinstance(named, str):
            return job.shard
        try:
            return self.shards.of(named)
        except UnknownShardError as beyond:
            raise RejectedError(
                422,
                ErrorCode.VALIDATION_FAILED,
                str(beyond),
                fields=[{"field": f"data.{field_name}", "message": str(beyond)}],
            ) from beyond

    async def _replay(self, first: StoredAnswer, job: _Refusable) -> StoredAnswer:
        """The first answer for this idempotency key, when it answered this very request
        (type, data, expected version); the key sent with another request is a 422."""
        if first.fingerprint is None or first.fingerprint == job.fingerprint:
            return replace(first, replayed=True)
        rejected = RejectedError(
            422,
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"idempotency key {job.key!r} was already used for another request",
            command_id=first.command_id,
        )
        return await self._refuse(replace(job, key=None), rejected)

    async def _write_batch(self, jobs: list[_Job]) -> list[StoredAnswer | BaseException]:
        """Every job (all of one shard) in one transaction; after any clash each on its
        own, where it is retried or refused alone."""
        try:
            answers: list[StoredAnswer | BaseException] = [*await self._attempt_batch(jobs)]
        except BatchConflictError:
            self._clashed += 1
            return await asyncio.gather(*(self._alone(job) for job in jobs), return_exceptions=True)
        self.on_commit(jobs[0].shard)
        return answers

    async def _attempt_batch(self, jobs: list[_Job]) -> list[StoredAnswer]:
        now, shard = datetime.now(UTC), jobs[0].shard
        async with AsyncExitStack() as holds, self.stores[shard].batch() as batch:
            staged = [await self._stage(batch, job, now) for job in jobs]
            claims = [c for o in staged if not isinstance(o, StoredAnswer) for c in o[0].claims]
            try:  # the claims held on the other shards, in shard order (UniqueHolds)
                stored = await self._holds.around(holds, shard, claims, lambda: batch.flush(now))
            except (ClaimTakenError, VersionConflictError) as clash:
                raise BatchConflictError(str(clash)) from clash
            answers = []
            for job, outcome in zip(jobs, staged, strict=True):
                if isinstance(outcome, StoredAnswer):
                    answer = outcome
                else:
                    decision, events = outcome
                    positioned = [stored[e.event_id] for e in events]
                    answer = _accepted(job.record.command_id, decision, positioned)
                if job.key is not None:
                    answer = replace(answer, fingerprint=job.fingerprint)
                    await batch.remember_answer(job.key, answer, job.expires)
                answers.append(answer)
            await batch.flush(now)  # the remembered answers
        return answers

    async def _stage(
        self, batch: BatchSession, job: _Job, now: datetime
    ) -> StoredAnswer | tuple[Decision, list[EventEnvelope]]:
        """Decide one command of a batch and stage its writes; a refusal stages its log row
        and gives its answer."""
        try:
            decision = await self._decide(batch, job, now)
        except RejectedError as rejected:
            await batch.record_command(_refused(job, rejected))
            return StoredAnswer(
                job.record.command_id, rejected.status, rejected.body, job.fingerprint
            )
        await batch.claim(decision.claims, decision.releases)
        events = await batch.append(decision.changes, job.metadata, now)
        ids = [e.event_id for e in events]
        done = _finish(job.record, job.started, aggregate_id=decision.aggregate_id, event_ids=ids)
        await batch.record_command(done)
        return decision, events

    async def _alone(self, job: _Job) -> StoredAnswer:
        """One command in its own transaction (after its batch clashed)."""
        try:
            answer = await self._run_with_retries(job)
        except DuplicateKeyError:
            assert job.key is not None
            if (first := await self._answer(job.shard, job.key, datetime.now(UTC))) is not None:
                return await self._replay(first, job)
            return StoredAnswer(
                job.record.command_id,
                409,
                error_body(ErrorCode.CONFLICT, "duplicate command in flight"),
            )
        except RejectedError as rejected:
            return await self._refuse(job, rejected)
        self.on_commit(job.shard)
        return answer

    async def _refuse(self, job: _Refusable, rejected: RejectedError) -> StoredAnswer:
        answer = StoredAnswer(
            job.record.command_id, rejected.status, rejected.body, job.fingerprint
        )
        stored = await self._record_rejection(job, _refused(job, rejected), answer)
        return stored if stored is answer else await self._replay(stored, job)

    async def _record_rejection(
        self, job: _Refusable, record: CommandRecord, answer: StoredAnswer
    ) -> StoredAnswer:
        """Log a refused command and remember its answer; the first stored answer wins. A
        command id that names an earlier command keeps that command's log row."""
        log, key, store = True, job.key, self.stores[job.shard]
        while True:
            try:
                async with store.session() as session:
                    if log:
                        await session.record_command(record)
                    if key is not None:
                        await session.remember_answer(key, answer, job.expires)
            except CommandIdTakenError:
                if not log:
                    raise
                log = False
            except DuplicateKeyError:
                assert key is not None
                return await store.find_answer(key, datetime.now(UTC)) or answer
            else:
                return answer

    def _prepare(self, request: CommandRequest, caller: Caller, job: _Refusable) -> _Job:
        spec = self._spec(request.type)
        if spec.admin_only and not caller.admin:
            message = f"command type {request.type!r} needs the admin role"
            raise RejectedError(403, ErrorCode.FORBIDDEN, message, type=request.type)
        cqrs = self.settings.cqrs
        rules = cqrs.validation_rules if cqrs.validation_enabled else None
        command, errors = parse_command(spec, request.data, rules)
        if errors:
            fields = [e.model_dump(exclude_none=True) for e in errors]
            raise RejectedError(422, ErrorCode.VALIDATION_FAILED, "invalid command", fields=fields)
        metadata = EventMetadata.model_validate(
            {
                **request.metadata,
                "command_id": job.record.command_id,
                "correlation_id": request.metadata.get("correlation_id") or job.record.command_id,
                "causation_id": job.record.command_id,
                "actor": caller.actor,
                "traceparent": caller.traceparent,
            }
        )
        return _Job(
            job.record,
            job.key,
            job.expires,
            job.started,
            job.fingerprint,
            self._route(spec, command, job),
            request,
            spec,
            command,
            metadata,
        )

    async def _run_with_retries(self, job: _Job) -> StoredAnswer:
        """Retry on a version clash, unless the caller pinned `expected_version`."""
        explicit = job.request.expected_version is not None
        retries = 0 if explicit else self.settings.command_service.max_append_retries
        for attempt in range(retries + 1):
            try:
                return await self._attempt(job)
            except VersionConflictError as clash:
                if attempt == retries:
                    raise await self._clash_refused(job, clash) from clash
        raise AssertionError("unreachable")

    async def _clash_refused(self, job: _Job, clash: VersionConflictError) -> RejectedError:
        """The 409 for a clash not retried; a pinned `expected_version` gets the target
        stream's version as it is now (another writer got there first)."""
        expected, target = job.request.expected_version, job.spec.target
        if expected is None or target is None:
            message = f"stream {clash.stream_id} was changed concurrently; retry"
            return RejectedError(
                409, ErrorCode.VERSION_CONFLICT, message, stream_id=clash.stream_id
            )
        stream_id = getattr(job.command, target[1])
        async with self.stores[job.shard].session() as session:
            await session.load(target[0], stream_id)
            return _version_mismatch(stream_id, expected, session.version_of(stream_id))

    async def _attempt(self, job: _Job) -> StoredAnswer:
        try:
            return await self._write(job)
        except CommandIdTakenError as taken:
            message = f"command id {taken.command_id} was used before: one id, one command"
            raise RejectedError(409, ErrorCode.CONFLICT, message, field="id") from taken

    async def _write(self, job: _Job) -> StoredAnswer:
        now, shard = datetime.now(UTC), job.shard
        async with AsyncExitStack() as holds, self.stores[shard].session() as session:
            decision = await self._decide(session, job, now)
            try:  # the claims held on the other shards, in shard order (UniqueHolds)
                await self._holds.around(
                    holds,
                    shard,
                    decision.claims,
                    lambda: session.claim(decision.claims, decision.releases),
                )
            except ClaimTakenError as taken:  # the message never echoes the (personal) value
                message = "this email is already in use"
                raise RejectedError(409, ErrorCode.EMAIL_TAKEN, message, field="email") from taken
            try:
                events = await session.append(decision.changes, job.metadata, now)
            except ForgottenSubjectError as gone:  # a key destroyed without its event
                message = f"user {gone.subject} was forgotten"
                code = ErrorCode.USER_FORGOTTEN
                raise RejectedError(410, code, message, id=gone.subject) from gone
            answer = _accepted(job.record.command_id, decision, events)
            ids = [e.event_id for e in events]
            done = _finish(
                job.record, job.started, aggregate_id=decision.aggregate_id, event_ids=ids
            )
            await session.record_command(done)
            if job.key is not None:
                answer = replace(answer, fingerprint=job.fingerprint)
                await session.remember_answer(job.key, answer, job.expires)
        return answer

    async def _decide(self, session: WriteSession, job: _Job, now: datetime) -> Decision:
        context = Context(now=now, new_id=self.shards.mint(job.shard))
        try:
            decision = await job.spec.handler(session, job.command, context)
        except DomainError as refused:
            raise RejectedError(
                refused.status, refused.code, refused.message, **refused.details
            ) from refused
        expected = job.request.expected_version
        if expected is not None:
            target = job.spec.target
            stream_id = getattr(job.command, target[1]) if target else decision.aggregate_id
            current = session.version_of(stream_id)
            if current != expected:
                raise _version_mismatch(stream_id, expected, current)
        return decision

    def _spec(self, command_type: str) -> CommandSpec:
        if command_type in self.disabled:
            message = f"command type {command_type!r} is disabled"
            raise RejectedError(400, ErrorCode.COMMAND_DISABLED, message, type=command_type)
        spec = self.commands.get(command_type)
        if spec is None or not self._supported(command_type):
            known = sorted(n for n in self.commands if self._supported(n))
            message = f"unknown command type {command_type!r}"
            raise RejectedError(400, ErrorCode.UNKNOWN_TYPE, message, supported=known)
        return spec

    def _supported(self, command_type: str) -> bool:
        """`cqrs.supported_command_types` limits the built-in types; declared ones count."""
        supported = self.settings.cqrs.supported_command_types
        return not supported or command_type in supported or command_type not in BUILT_IN


def _accepted(command_id: str, decision: Decision, events: list[EventEnvelope]) -> StoredAnswer:
    last = {e.stream_id: e for e in events}  # the final version of each stream written
    token = encode_token(
        [StreamVersion(e.stream_type, e.stream_id, e.version) for e in last.values()]
    )
    primary = last.get(decision.aggregate_id, events[-1])
    result = CommandResult(
        command_id=command_id,
        status="accepted",
        aggregate_id=decision.aggregate_id,
        version=primary.version,
        events=events,
        consistency_token=token,
    )
    return StoredAnswer(command_id, 200, result.model_dump(mode="json"))


def _version_mismatch(stream_id: str, expected: int, current: int) -> RejectedError:
    return RejectedError(
        409,
        ErrorCode.VERSION_CONFLICT,
        f"expected version {expected} of {stream_id}, found {current}",
        stream_id=stream_id,
        expected_version=expected,
        current_version=current,
    )


def _fingerprint(request: CommandRequest) -> str:
    """What makes a request the same request, for its idempotency key."""
    what = {"type": request.type, "data": request.data, "v": request.expected_version}
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refused(job: "_Refusable", rejected: RejectedError) -> CommandRecord:
    return _finish(
        job.record,
        job.started,
        status="rejected",
        http_status=rejected.status,
        error=rejected.body,
    )


def _finish(record: CommandRecord, started: float, **changes: Any) -> CommandRecord:
    return replace(record, duration_ms=int((time.perf_counter() - started) * 1000), **changes)

"""A real HTTP receiver for webhook tests: an asyncio server on 127.0.0.1 (port 0) that
records every POST and checks its signatures (with the `standardwebhooks` package's
verifier, keyed by the secret of the path, and the deprecated `X-CQRS-Signature`),
answering as each path is told to.

Our secrets map to the Standard Webhooks format as the projector documents: the
verifier's secret is `whsec_` + base64 of the secret's UTF-8 bytes."""

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


def standard_verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """Whether a Standard Webhooks verifier with `secret` accepts the delivery (signature
    of id.timestamp.body, timestamp within five minutes of now)."""
    verifier = Webhook("whsec_" + base64.b64encode(secret.encode()).decode())
    try:
        verifier.verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Route:
    secret: str
    fail_first: int = 0  # per event: answer 500 to its first N attempts
    always: int | None = None  # answer this status to every request


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered
    signature_ok: bool  # a Standard Webhooks verifier with the path's secret accepts it
    legacy_ok: bool  # the deprecated X-CQRS-Signature matches too

    def verified_by(self, secret: str) -> bool:
        """Whether a Standard Webhooks verifier with `secret` accepts this delivery now."""
        return standard_verifies(secret, self.body, self.headers)

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def attempt(self) -> int:
        return int(self.headers["x-cqrs-delivery"])


@dataclass
class Receiver:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def wait_for(self, done: Callable[["Receiver"], bool], within: float = 40.0) -> None:
        """Until `done(self)` holds (bounded)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: done(self))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await self._read(reader):
                status = await self._answer(*request)
                text = f"status {status}".encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(text)}\r\n"
                    "Content-Type: text/plain\r\n\r\n".encode()
                    + text
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line:
            return None
        _, target, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return target, headers, body

    async def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        route = self.routes.get(path)
        if route is None:
            status, signed, legacy = 404, False, False
        else:
            signed = standard_verifies(route.secret, body, headers)
            digest = hmac.new(route.secret.encode(), body, hashlib.sha256).hexdigest()
            legacy = hmac.compare_digest(f"sha256={digest}", headers.get("x-cqrs-signature", ""))
            event_id = headers.get("x-cqrs-event-id")
            earlier = sum(1 for r in self.at(path) if r.headers.get("x-cqrs-event-id") == event_id)
            status = route.always or (500 if earlier < route.fail_first else 200)
        async with self._changed:
            self.requests.append(Request(path, headers, body, status, signed, legacy))
            self._changed.notify_all()
        return status

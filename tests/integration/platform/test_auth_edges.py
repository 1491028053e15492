"""The edges of authentication the role matrix does not walk, on every service, with auth
on: a token signed with `alg: none`, an HS256 token when RS256 is configured (the RSA
public key used as an HMAC secret: key confusion), a token without `exp`, a role claim
naming an unknown role, and a token in the query string. Each is 401 or 403, never 2xx."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from tests.integration.platform.tokens import bearer, token

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]
READ = {  # a reader route on each service
    "command": "/api/v1/cqrs/commands",
    "projector": "/api/v1/cqrs/projections",
    "query": "/api/v1/cqrs/queries",
}
SERVICES = list(READ)


def claims_of(
    settings: Settings, sub: str, roles: list[str], *, expires: bool = True
) -> dict[str, Any]:
    """What the platform's issuer puts in a token (`exp` in ten minutes, unless not)."""
    security = settings.security
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": roles,
        "iss": security.jwt_issuer,
        "aud": security.jwt_audience,
        "iat": int(time.time()),
    }
    return claims | ({"exp": int(time.time() + 600)} if expires else {})


def unsigned(settings: Settings, roles: list[str]) -> str:
    """A well-formed token whose header says `alg: none` and that carries no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = claims_of(settings, "mallory", roles)
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
async def apps(
    secured: Callable[..., Settings],
    command_app: AppFactory,
    projector_app: AppFactory,
    query_app: AppFactory,
) -> AsyncIterator[tuple[Settings, dict[str, AsyncTestClient]]]:
    settings = secured()
    async with (
        command_app(settings) as command,
        projector_app(settings) as projector,
        query_app(settings) as query,
    ):
        yield settings, {"command": command, "projector": projector, "query": query}


async def get(client: AsyncTestClient, service: str, **kw: Any) -> int:
    path = READ[service]
    method = "GET" if service != "query" else "POST"
    body: dict[str, Any] = (
        {"json": {"type": "ListUsers", "data": {"limit": 1}}} if method == "POST" else {}
    )
    return (await client.request(method, path, **body, **kw)).status_code


@pytest.mark.parametrize("service", SERVICES)
async def test_a_token_signed_with_alg_none_is_refused(
    apps: tuple[Settings, dict[str, AsyncTestClient]], service: str
) -> None:
    settings, clients = apps
    assert await get(clients[service], service, headers=bearer(token(settings, ["admin"]))) == 200
    forged = unsigned(settings, ["admin"])
    assert await get(clients[service], service, headers=bearer(forged)) == 401


@pytest.mark.parametrize("service", SERVICES)
async def test_a_token_without_exp_is_refused(
    apps: tuple[Settings, dict[str, AsyncTestClient]], service: str
) -> None:
    settings, clients = apps
    claims = claims_of(settings, "no-expiry", ["admin"], expires=False)
    forever = jwt.encode(claims, settings.security.jwt_secret, algorithm="HS256")
    assert await get(clients[service], service, headers=bearer(forever)) == 401


@pytest.mark.parametrize("service", SERVICES)
async def test_a_role_nobody_defined_grants_nothing(
    apps: tuple[Settings, dict[str, AsyncTestClient]], service: str
) -> None:
    settings, clients = apps
    made_up = token(settings, ["superuser", "root"])
    assert await get(clients[service], service, headers=bearer(made_up)) == 403


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("name", ["token", "access_token", "jwt", "authorization"])
async def test_a_token_in_the_query_string_is_not_taken(
    apps: tuple[Settings, dict[str, AsyncTestClient]], service: str, name: str
) -> None:
    settings, clients = apps
    params = {name: token(settings, ["admin"])}
    assert await get(clients[service], service, params=params) == 401


@pytest.mark.parametrize("service", SERVICES)
async def test_hs256_signed_with_the_rs256_public_key_is_refused(
    secured: Callable[..., Settings],
    command_app: AppFactory,
    projector_app: AppFactory,
    query_app: AppFactory,
    rsa_keys: tuple[str, str],
    service: str,
) -> None:
    """Key confusion: with RS256 configured, an attacker who knows the public key signs
    an HS256 token with it as the HMAC secret."""
    private, public = rsa_keys
    settings = secured(CQRS__SECURITY__JWT_ALGORITHM="RS256", CQRS__SECURITY__JWT_PUBLIC_KEY=public)
    claims = claims_of(settings, "mallory", ["admin"])
    genuine = jwt.encode(claims, private, algorithm="RS256")
    confused = hmac_with_public_key(claims, public)
    factory = {"command": command_app, "projector": projector_app, "query": query_app}[service]
    async with factory(settings) as client:
        assert await get(client, service, headers=bearer(genuine)) == 200
        assert await get(client, service, headers=bearer(confused)) == 401


def hmac_with_public_key(claims: dict[str, Any], public_pem: str) -> str:
    """HS256 over header.payload with the PEM text as the secret (PyJWT itself refuses to
    do this, which is the point: it is done by hand)."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = part(json.dumps(claims).encode())
    signature = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{part(signature.digest())}"

"""The console in a real browser: Debian's Chromium (deploy/local/browser-tools.sh
installs it; Playwright never downloads one), driven by Playwright against the whole
system started as `just up` starts it (tests/support/system.py), here with
`security.auth_enabled: true`, so every page signs in with a token and the role decides
what shows. Screenshots go to bench-results/console/."""

import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright

from tests.support.services import ROOT, Endpoints
from tests.support.system import System, namespace, running_system

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTEFACTS = ROOT / "bench-results/console"
WAIT_MS = 30_000  # how long the page may take to show what a test waits for


@pytest.fixture(scope="session")
async def browser_env(endpoints: Endpoints, run_id: str) -> AsyncIterator[dict[str, str]]:
    async with namespace(endpoints, f"cqrs_browser_{run_id}") as env:
        yield env


@pytest.fixture(scope="session")
def console_system(
    browser_env: dict[str, str], run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    state = tmp_path_factory.mktemp("browser-state")
    secret = f"console-browser-tests-{run_id}-{'x' * 16}"
    changes = {"security": {"auth_enabled": True, "jwt_secret": secret}}
    with running_system(
        browser_env, run_id=run_id, label="browser", state=state, changes=changes
    ) as up:
        yield up


def make_token(system: System, *roles: str) -> str:
    security = system.config["security"]
    now = int(time.time())
    claims = {
        "sub": f"console-{'-'.join(roles)}",
        "roles": list(roles),
        "iss": security["jwt_issuer"],
        "aud": security["jwt_audience"],
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, security["jwt_secret"], algorithm="HS256")


@pytest.fixture
async def api(console_system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The public API through the gateway, as an admin."""
    headers = {"Authorization": f"Bearer {make_token(console_system, 'admin')}"}
    async with httpx.AsyncClient(
        base_url=console_system.gateway, headers=headers, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def chromium(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BrowserContext]:
    if shutil.which("chromium") is None:
        raise RuntimeError("chromium is missing: deploy/local/browser-tools.sh installs it")
    profile = tmp_path_factory.mktemp("chromium-profile")
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            await context.close()


OpenConsole = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_console(
    chromium: BrowserContext, console_system: System
) -> AsyncIterator[OpenConsole]:
    """Open the console in a new tab (its own sessionStorage, so it asks for a token),
    sign in with a token of `roles`, and wait until the pages are built. Browser
    errors in the page fail the test."""
    pages: list[Page] = []
    errors: list[str] = []

    async def open_(*roles: str, at: str = "") -> Page:
        page = await chromium.new_page()
        pages.append(page)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{console_system.gateway}/console/{at}")
        await page.locator("#token-dialog").wait_for(state="visible")
        await page.fill("#token-input", make_token(console_system, *roles))
        await page.click("#token-submit")
        await page.locator("body[data-ready=true]").wait_for(state="attached")
        return page

    yield open_
    for page in pages:
        await page.close()
    assert not errors, errors


async def screenshot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def command(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data}

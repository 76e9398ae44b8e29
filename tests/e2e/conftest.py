"""End-to-end tests in a real headless Chromium (Debian's package), driven by Playwright for Python.

No browser is downloaded: Playwright launches the system Chromium (``CHROMIUM_PATH`` or ``chromium`` on
PATH). Without it the tests skip locally and fail in CI (``_missing``), like the other service markers.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _missing
from tests.web.conftest import compiled_translations  # noqa: F401 (fixture: the Chinese UI needs the .mo)

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM calls from the test body are
# still plain synchronous code, so the async-safety guard can be lifted for these tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not Path(path).exists():
        _missing("needs Debian's chromium (apt-get install chromium) or CHROMIUM_PATH")
    return str(path)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        _missing("needs playwright (pip install playwright; no browser download needed)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    request.getfixturevalue("compiled_translations")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Reload the data migrations' rows (stage labels, gates, lost reasons, default template).

    Transactional tests flush every table afterwards; ``serialized_rollback`` should restore them but
    does not reliably do so once Playwright's greenlet-based loop has run in the thread, so each
    browser test reloads the (idempotent) defaults itself.
    """
    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    for module in ("pipeline.migrations.0002_default_ladder", "targets.migrations.0002_default_template"):
        importlib.import_module(module).load(apps, None)


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """``docs/screenshots/`` under ``make screenshots`` (SALESLADDER_SCREENSHOTS=1); otherwise a temporary
    directory, so an ordinary test run leaves the committed pictures alone."""
    if os.environ.get("SALESLADDER_SCREENSHOTS") != "1":
        return tmp_path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def log_in(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/pipeline/**")

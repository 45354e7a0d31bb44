"""Browser tests drive Debian's Chromium through Playwright against a live server.

They skip, saying why, only when no Chromium exists; ``.ci/run`` installs it so CI never
skips them. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("REVERIE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; Django's guard against ORM use
# from async code would then refuse the test's own database set-up.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    yield page
    context.close()


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    yield page
    context.close()


@pytest.fixture
def shot():
    """``shot(page, "name")`` saves a full-page screenshot and returns its path.

    With ``REVERIE_SCREENSHOTS=<folder>`` (``python scripts/screenshots.py`` sets it for the
    tests it runs) the picture is also written there, for the documentation, reduced to 256
    colours when Pillow is installed. CI leaves it unset, so it never rewrites docs/."""
    gallery = os.environ.get("REVERIE_SCREENSHOTS")

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if gallery:
            _to_gallery(path, Path(gallery) / path.name)
        return path

    return take


def _to_gallery(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(source, target)
        return
    with Image.open(source) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)


@pytest.fixture
def mail_sent():
    """``mail_sent(n)``: Django's test outbox once it holds ``n`` messages (or after ten
    seconds). The live server sends queued mail at the end of each request, in its own
    thread, so the browser may see the next page a moment before the mail is out."""
    import time

    from django.core import mail

    def wait(count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(mail.outbox) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(mail.outbox)

    return wait

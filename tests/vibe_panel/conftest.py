"""Browser fixtures: Debian's chromium driven by Playwright (``executable_path``; nothing downloaded).

Without chromium the browser tests skip with the reason, except under CI (``CI`` set), where they
fail: ``.ci/run`` installs it. Screenshots go to ``test-artifacts/panel/`` (``$VIBE_TEST_ARTIFACTS``
moves it), kept after the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/lib/chromium/chromium")


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    root = Path(os.environ.get("VIBE_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "panel"
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="module")  # not longer: Playwright's sync API holds an event loop in this thread
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail(
                "CI is set but chromium is missing: .ci/run installs it (apt-get install -y chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs these tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--headless"]
        )
        yield browser
        browser.close()


class Console:
    """What the page said: console errors, uncaught page errors and failed requests."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console = Console(page)
    yield page
    context.close()

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


def _detached_tabulator_redraw(error: Any) -> bool:
    """The one known third-party race: Panel's Tabulator view answers a ``cell_styles`` patch (a
    table update sent just before a tab switch) with ``tabulator.redraw``, after dynamic Tabs have
    taken the table out of the page; Tabulator 6.4's ``elVisible`` then reads a null element. The
    table is fetched again when its tab is shown (``vibe_panel.app``), so nothing is lost."""
    stack = str(error.stack or "")
    return "reading 'offsetWidth'" in str(error) and "tabulator" in stack and ".redraw" in stack


class Console:
    """What the page said: console errors, uncaught page errors and failed requests
    (``races``: the known Tabulator one, kept apart so that any other error still fails a test)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.races: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", self._page_error)
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))

    def _page_error(self, error: Any) -> None:
        (self.races if _detached_tabulator_redraw(error) else self.errors).append(f"page error: {error}")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console = Console(page)
    yield page
    context.close()

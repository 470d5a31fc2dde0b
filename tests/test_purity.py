"""Architecture guard: vibe_core does no IO, reads no clock, environment or unseeded randomness.

An AST scan of every module under ``src/vibe_core`` (imports, calls, attribute reads), plus planted
violations proving that each rule of the scanner fires, so the guard cannot pass silently.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import vibe_core

CORE = Path(vibe_core.__file__).parent

#: Modules that do IO, touch the clock, the network, threads or processes, or are shells.
BANNED_MODULES = frozenset(
    {
        "anyio", "asyncio", "trio", "httpx", "httpx_ws", "websockets", "aiohttp", "requests",
        "urllib", "urllib3", "http", "socket", "ssl", "select", "selectors", "ftplib", "smtplib",
        "sqlite3", "threading", "_thread", "concurrent", "subprocess", "multiprocessing", "signal",
        "time", "sched", "logging", "random", "secrets", "pathlib", "shutil", "tempfile", "glob",
        "fsspec", "pyarrow", "psutil", "yfinance", "litestar", "panel", "uvicorn", "importlib",
        "vibe_backtest", "vibe_live", "vibe_panel",
    }
)  # fmt: skip
#: Heavy, clock-free libraries the calendar imports lazily, inside function bodies only.
LAZY_ONLY = frozenset({"pandas", "exchange_calendars"})
LAZY_ALLOWED_IN = frozenset({"vibe_core.calendar"})
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})
OS_BANNED = frozenset(
    {
        "environ", "environb", "getenv", "getenvb", "putenv", "unsetenv", "system", "popen", "urandom",
        "getpid", "listdir", "scandir", "walk", "remove", "unlink", "mkdir", "makedirs", "rename",
    }
)  # fmt: skip
SYS_BANNED = frozenset({"argv", "stdin", "stdout", "stderr", "exit"})
UUID_BANNED = frozenset({"uuid1", "uuid4"})
BUILTINS_BANNED = frozenset({"open", "input", "print", "breakpoint", "__import__"})
#: numpy.random names that take an explicit seed or are types; the rest use the global state.
NUMPY_RANDOM_OK = frozenset(
    {"default_rng", "Generator", "BitGenerator", "SeedSequence", "PCG64", "PCG64DXSM", "Philox", "SFC64"}
)


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.problems: list[str] = []
        self.depth = 0  # > 0 inside a function body
        self.type_checking = 0  # > 0 inside `if TYPE_CHECKING:`
        self.aliases: dict[str, str] = {}  # local name -> module it stands for (os, sys, uuid, numpy.random)

    def flag(self, node: ast.AST, message: str) -> None:
        self.problems.append(f"{self.module}:{getattr(node, 'lineno', 0)}: {message}")

    # -- scopes --------------------------------------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _dotted(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    # -- imports -------------------------------------------------------------------------------

    def _check_module(self, node: ast.AST, name: str) -> None:
        top = name.split(".")[0]
        if top in BANNED_MODULES:
            self.flag(node, f"imports {name} (IO, clock, randomness, concurrency or a shell)")
        elif top in LAZY_ONLY and not self.type_checking:
            if self.module not in LAZY_ALLOWED_IN:
                self.flag(node, f"imports {name}: only {', '.join(sorted(LAZY_ALLOWED_IN))} may, lazily")
            elif self.depth == 0:
                self.flag(
                    node, f"imports {name} at module level: import it inside the function that needs it"
                )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            if alias.name in ("os", "sys", "uuid", "numpy.random", "numpy"):
                self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:  # relative import inside vibe_core: fine
            return
        self._check_module(node, module)
        banned = {"os": OS_BANNED, "sys": SYS_BANNED, "uuid": UUID_BANNED}.get(module, frozenset())
        for alias in node.names:
            if alias.name in banned:
                self.flag(node, f"imports {module}.{alias.name}")
            if module == "numpy.random" and alias.name not in NUMPY_RANDOM_OK:
                self.flag(node, f"imports numpy.random.{alias.name} (global, unseeded state)")
            if module == "numpy" and alias.name == "random":
                self.aliases[alias.asname or "random"] = "numpy.random"
        self.generic_visit(node)

    # -- reads and calls -----------------------------------------------------------------------

    def _resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        real = self.aliases.get(head, head)
        return f"{real}.{rest}" if rest else real

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if dotted is not None:
            full = self._resolve(dotted)
            owner, _, attr = full.rpartition(".")
            if (owner, attr) in {("os", a) for a in OS_BANNED} | {("sys", a) for a in SYS_BANNED}:
                self.flag(node, f"uses {owner}.{attr}")
            elif owner == "uuid" and attr in UUID_BANNED:
                self.flag(node, f"uses uuid.{attr} (ids are deterministic in the core)")
            elif owner == "numpy.random" and attr not in NUMPY_RANDOM_OK:
                self.flag(node, f"uses numpy.random.{attr} (global, unseeded state)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTINS_BANNED:
            self.flag(node, f"calls {func.id}()")
        if isinstance(func, ast.Attribute) and func.attr in CLOCK_METHODS:
            self.flag(node, f"reads the clock: {_dotted(func) or func.attr}()")
        dotted = _dotted(func)
        unseeded = not node.args or (isinstance(node.args[0], ast.Constant) and node.args[0].value is None)
        if (
            dotted is not None
            and self._resolve(dotted).endswith("default_rng")
            and unseeded
            and not node.keywords
        ):
            self.flag(node, "calls default_rng() without a seed")
        self.generic_visit(node)


def scan_source(source: str, module: str) -> list[str]:
    """Problems found in one module's source (``module`` is its dotted name)."""
    scanner = _Scanner(module)
    scanner.visit(ast.parse(source))
    return scanner.problems


def core_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def test_the_scan_sees_the_whole_core() -> None:
    names = {name for name, _ in core_modules()}
    assert {"vibe_core", "vibe_core.engine", "vibe_core.calendar", "vibe_core.indicators.bank"} <= names


def test_vibe_core_is_pure() -> None:
    problems = [
        p for name, path in core_modules() for p in scan_source(path.read_text(encoding="utf-8"), name)
    ]
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# the guard itself
# ---------------------------------------------------------------------------------------------

PLANTED = [
    ("import asyncio", "asyncio"),
    ("import anyio.abc", "anyio"),
    ("from httpx import AsyncClient", "httpx"),
    ("import sqlite3", "sqlite3"),
    ("from socket import socket", "socket"),
    ("import threading", "threading"),
    ("import subprocess", "subprocess"),
    ("from multiprocessing import Pool", "multiprocessing"),
    ("import requests", "requests"),
    ("from urllib.request import urlopen", "urllib"),
    ("import yfinance as yf", "yfinance"),
    ("from litestar import get", "litestar"),
    ("import panel as pn", "panel"),
    ("import uvicorn", "uvicorn"),
    ("import time\nx = time.time()", "time"),
    ("from time import monotonic", "time"),
    ("import logging.handlers", "logging"),
    ("import random", "random"),
    ("from random import Random", "random"),
    ("import datetime\nx = datetime.datetime.now()", "clock"),
    ("from datetime import datetime as D\nx = D.utcnow()", "clock"),
    ("import datetime as dt\nx = dt.date.today()", "clock"),
    ("import os\nx = os.environ['HOME']", "os.environ"),
    ("import os\nx = os.getenv('HOME')", "os.getenv"),
    ("import os as o\nx = o.environ.get('X')", "os.environ"),
    ("from os import environ", "os.environ"),
    ("import uuid\nx = uuid.uuid4()", "uuid.uuid4"),
    ("from uuid import uuid4", "uuid.uuid4"),
    ("with open('x') as f:\n    pass", "open()"),
    ("print('hi')", "print()"),
    ("import vibe_backtest.loop", "vibe_backtest"),
    ("from vibe_live import service", "vibe_live"),
    ("from vibe_panel.app import main", "vibe_panel"),
    ("import numpy as np\nx = np.random.rand()", "numpy.random.rand"),
    ("import numpy as np\nrng = np.random.default_rng()", "default_rng() without a seed"),
    ("from numpy.random import default_rng\nrng = default_rng(None)", "default_rng() without a seed"),
    ("from numpy.random import normal", "numpy.random.normal"),
    ("import pandas as pd", "pandas"),
    ("def f():\n    import exchange_calendars", "exchange_calendars"),
    ("m = __import__('socket')", "__import__"),
]


@pytest.mark.parametrize(("source", "needle"), PLANTED, ids=[s.splitlines()[-1] for s, _ in PLANTED])
def test_the_scanner_catches_a_planted_violation(source: str, needle: str) -> None:
    problems = scan_source(source, "vibe_core.planted")
    assert any(needle in p for p in problems), problems


def test_the_calendar_may_import_its_library_lazily_but_not_at_module_level() -> None:
    lazy = "def sessions():\n    import exchange_calendars as xcals\n    import pandas as pd\n"
    assert scan_source(lazy, "vibe_core.calendar") == []
    assert scan_source("import exchange_calendars", "vibe_core.calendar") != []
    assert scan_source(lazy, "vibe_core.engine") != []


def test_pure_code_passes() -> None:
    source = """
from __future__ import annotations
import datetime as dt
import math
from typing import TYPE_CHECKING
import numpy as np
if TYPE_CHECKING:
    import pandas as pd
def f(ts: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    day = dt.datetime.fromtimestamp(ts / 1e9, tz=dt.timezone.utc)
    return math.sqrt(rng.random()) + day.hour
"""
    assert scan_source(source, "vibe_core.example") == []

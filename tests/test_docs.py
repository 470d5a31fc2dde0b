"""The guides in ``docs/`` run: every code block of ``docs/writing-a-strategy.md`` is executed.

Blocks are marked by the HTML comment before them: ``<!-- file: path -->`` is written to that path
in a temporary folder (put on the import path), ``<!-- run -->`` is executed as Python there,
``<!-- shell -->`` is run as the command it shows, ``<!-- config -->`` (YAML) must be a valid config
once the files exist. An unmarked block fails the test, so none escapes the check.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vibe_core.config import config_from_dict

GUIDE = Path(__file__).parents[1] / "docs" / "writing-a-strategy.md"
BLOCK = re.compile(r"(?:<!-- (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.S)


def blocks() -> list[tuple[str, str]]:
    found = [(m["mark"] or "", m["body"]) for m in BLOCK.finditer(GUIDE.read_text())]
    assert found, f"{GUIDE}: no code blocks"
    return found


def test_every_block_is_marked() -> None:
    for mark, body in blocks():
        assert mark.split(":")[0] in {"file", "run", "shell", "config"}, f"unmarked block:\n{body}"


@pytest.fixture
def guide_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for mark, body in blocks():
        if mark.startswith("file:"):
            path = tmp_path / mark.split(":", 1)[1].strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / "__init__.py").touch()
            path.write_text(body + "\n")
    return tmp_path


def test_the_python_blocks_run(guide_dir: Path) -> None:
    runs = [body for mark, body in blocks() if mark == "run"]
    assert runs
    for body in runs:
        exec(compile(body, f"{GUIDE.name} (run block)", "exec"), {"__name__": "__guide__"})


def test_the_config_blocks_are_valid(guide_dir: Path) -> None:
    configs = [yaml.safe_load(body) for mark, body in blocks() if mark == "config"]
    assert len(configs) >= 2
    for data in configs:
        config_from_dict(data)


def test_the_command_runs(guide_dir: Path) -> None:
    (shell,) = [body for mark, body in blocks() if mark == "shell"]
    words = shlex.split(shell.removeprefix("$ ").replace("\\\n", " "))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__")}
    while "=" in words[0]:  # leading VAR=value assignments
        key, value = words.pop(0).split("=", 1)
        env[key] = os.pathsep.join([str(guide_dir / value), *sys.path]) if key == "PYTHONPATH" else value
    assert words[0] == "vibe-backtest"
    proc = subprocess.run(
        [sys.executable, "-m", "vibe_backtest.cli", *words[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=guide_dir,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = guide_dir / "results" / "vwap"
    assert "VwapReclaim" in (out / "config.json").read_text()
    assert len((out / "trades.csv").read_text().splitlines()) > 1


def test_the_readme_core_api_example_runs() -> None:
    """The README's example of the core's API runs as shown and does what its comments say."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## The core's API", 1)[1]
    body = re.search(r"```python\n(.*?)\n```", section, re.S)
    assert body is not None
    scope: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(body[1], "README.md (core API)", "exec"), scope)
    saved, when, view = scope["saved"], scope["when"], scope["view"]
    assert isinstance(saved, dict) and saved["schema"] == 2
    assert isinstance(when, int) and view.ts == when  # type: ignore[attr-defined]

"""The NYSE session table of a backtest: built by exchange-calendars, kept on disk for the day.

Building it costs about 0.7 s a run (importing exchange-calendars and computing twenty years of
sessions), a sixth of a two-year backtest; the kept copy reads in a few milliseconds. The file is
keyed by the exchange-calendars version and today's date (its calendar runs to a year after
today), lives in ``<cache>/sessions/`` (see :func:`cache_root`) and is written atomically; a
missing, unreadable or damaged file just means the table is built again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from vibe_core.calendar import Session, SessionTable, nyse_sessions

__all__ = ["cache_root", "nyse_calendar", "build_nyse_calendar"]


def cache_root() -> Path:
    """Where vibe keeps what it can rebuild: ``$VIBE_CACHE_DIR``, else ``$XDG_CACHE_HOME/vibe``,
    else ``~/.cache/vibe``."""
    env = os.environ.get("VIBE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vibe"


def build_nyse_calendar() -> SessionTable:
    """Every NYSE session exchange-calendars knows (about 20 years back, one year ahead)."""
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XNYS")
    return nyse_sessions(cal.first_session.date(), cal.last_session.date())


def nyse_calendar(cache_dir: Path | None = None, *, today: dt.date | None = None) -> SessionTable:
    """:func:`build_nyse_calendar`, read from today's file when there is one (and written if not)."""
    folder = (cache_dir if cache_dir is not None else cache_root()) / "sessions"
    day = today if today is not None else dt.date.today()
    path = folder / f"xnys-{_xcals_version()}-{day.isoformat()}.json"
    try:
        return _from_rows(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        pass
    table = build_nyse_calendar()
    with contextlib.suppress(OSError):  # a read-only home: build every time
        _write(folder, path, table)
    return table


def _xcals_version() -> str:
    """The installed exchange-calendars' version, from its ``.dist-info`` folder on ``sys.path``
    (the first, as the import finds it); importing :mod:`importlib.metadata` costs 10-20 ms a run."""
    prefix, suffix = "exchange_calendars-", ".dist-info"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, a missing folder
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(suffix):
                return name[len(prefix) : -len(suffix)]
    from importlib.metadata import version  # an egg, a zip: the full lookup

    return version("exchange-calendars")


def _from_rows(rows: list[list[object]]) -> SessionTable:
    sessions = []
    for date, open_, close in rows:
        if not isinstance(date, str) or not isinstance(open_, int) or not isinstance(close, int):
            raise TypeError(f"bad session row {[date, open_, close]!r}")
        sessions.append(Session(date=dt.date.fromisoformat(date), open=open_, close=close))
    if not sessions:
        raise ValueError("empty session file")
    return SessionTable(tuple(sessions))  # checks the order of the sessions


def _write(folder: Path, path: Path, table: SessionTable) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [[s.date.isoformat(), s.open, s.close] for s in table.sessions]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sessions-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(rows, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in folder.glob("xnys-*.json"):  # yesterday's files
        if old != path:
            old.unlink(missing_ok=True)

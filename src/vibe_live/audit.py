"""``vibe-live audit``: the daily parity audit. Did the session do what a backtest of its bars does?

For every trading day in the store's log (:func:`vibe_live.rebuild.days`):

1. the 5m bars the session saw are rebuilt from its logged prints with the core's aggregator (the
   four points of a replayed bar give it back exactly; live prints make the bars the engine made);
2. those bars are backtested through the backtester's loop (``vibe_backtest.loop.run_loop``, a
   ``Clock`` at the close) with the config the session ran, *starting from the session's own
   engine state at the day's start* (the log re-stepped, as recovery does). Each day is judged on
   its own: a difference on one day (a live print path a bar cannot reproduce, a fill at another
   price) does not carry into the next day's equity and sizing and make every later day differ;
3. the day's signals, orders, fills and trades as the session recorded them (the read tables) are
   compared with the backtest's (:mod:`vibe_live.audit_rows`), and every difference is reported.

Operator commands (``Pause``, ``Resume``, ``CloseAll``), an external broker's order events and any
other event without a bar-mode counterpart are not fed to the backtest: bar mode has no instant
inside a bar at which they could act as they did live (a ``CloseAll`` at 11:02 fills at the next
print live, at a bar's open in bar mode). A day they touch is reported as ``operator`` with those
events listed; its differences are shown but are not mismatches, and the next day starts from the
session's state after them, so it is judged normally. A day the log does not finish (the service
stopped before the close) is compared up to its last logged event (``partial``). A log changed
after the session ran shows on the day of the change; later days start from the changed log's
state and may differ too (another cash, another size).

:func:`audit_db` prints a table (one line per day, then every difference) and, given ``out``,
writes ``audit.json`` there; it returns 0 when no day differs, 1 otherwise.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import attrs

from vibe_backtest.api import calendar
from vibe_backtest.loop import run_loop
from vibe_backtest.results import OutputError
from vibe_core.actions import Action
from vibe_core.calendar import SessionTable
from vibe_core.config import Config
from vibe_live.audit_rows import KINDS, Difference, compare, iso, keyed_rows, until
from vibe_live.rebuild import Day, days, recorded, recorder_of, start_state, stored_config
from vibe_live.store import Store

__all__ = ["audit_db", "audit_store", "AuditReport", "DayAudit", "format_table", "write_json", "AUDIT_FILE"]

AUDIT_FILE = "audit.json"


@attrs.frozen(kw_only=True)
class DayAudit:
    """One day's verdict: ``ok``, ``differs``, or ``operator`` (differences on a day with operator events)."""

    date: str
    status: str
    complete: bool  #: the log reaches the session's close (else compared up to ``last_time``)
    last_time: str
    bars: int
    prints: int
    touched: tuple[tuple[str, str], ...]  #: (event kind, time) of events without a bar-mode twin
    counts: dict[str, tuple[int, int]]  #: kind -> (records in the session, in the backtest)
    differences: tuple[Difference, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "status": self.status,
            "complete": self.complete,
            "last_time": self.last_time,
            "bars": self.bars,
            "prints": self.prints,
            "operator_events": [{"kind": k, "time": t} for k, t in self.touched],
            "counts": {k: {"session": s, "backtest": b} for k, (s, b) in self.counts.items()},
            "differences": [d.to_dict() for d in self.differences],
        }


@attrs.frozen(kw_only=True)
class AuditReport:
    db: str
    days: tuple[DayAudit, ...]

    @property
    def mismatches(self) -> int:
        """Differences on days without operator events: what makes the audit fail."""
        return sum(len(d.differences) for d in self.days if d.status == "differs")

    @property
    def clean(self) -> bool:
        return self.mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        statuses = [d.status for d in self.days]
        return {
            "db": self.db,
            "clean": self.clean,
            "days": len(self.days),
            "ok": statuses.count("ok"),
            "differs": statuses.count("differs"),
            "operator": statuses.count("operator"),
            "mismatches": self.mismatches,
            "differences": sum(len(d.differences) for d in self.days),
            "per_day": [d.to_dict() for d in self.days],
        }


def audit_db(db: Path, out: Path | None = None, *, stream: TextIO | None = None) -> int:
    """Audit the session in ``db`` (opened read-only): the table on ``stream`` (stdout), ``audit.json``
    in ``out`` when given; 0 when no day differs, 1 otherwise.

    A bad store raises :class:`StoreError`, an ``out`` that cannot be a folder
    :class:`~vibe_backtest.results.OutputError` (checked before the audit runs), both naming the path.
    """
    if out is not None:
        _check_out(Path(out))
    with Store(db, readonly=True) as store:
        report = audit_store(store)
    if out is not None:
        write_json(report, Path(out) / AUDIT_FILE)
    print(format_table(report), file=stream or sys.stdout)
    return 0 if report.clean else 1


def audit_store(store: Store, sessions: SessionTable | None = None) -> AuditReport:
    """The audit of every day in ``store``'s log (see the module docstring)."""
    sessions = calendar() if sessions is None else sessions
    config = stored_config(store)
    records = recorded(store)
    seqs = [seq for seq, _ in records]
    audits = []
    for day in days(store, config, sessions):
        lo, hi = bisect.bisect_left(seqs, day.first_seq), bisect.bisect_right(seqs, day.last_seq)
        if day.bars or lo < hi:
            audits.append(_audit_day(store, day, config, sessions, [a for _, a in records[lo:hi]]))
    return AuditReport(db=str(store.path), days=tuple(audits))


def _audit_day(
    store: Store, day: Day, config: Config, sessions: SessionTable, actions: list[Action]
) -> DayAudit:
    loop = run_loop(day.bars, config, sessions, state=start_state(store, day, sessions))
    backtest = loop.recorder if day.complete else until(loop.recorder, day.last_ts)
    session = recorder_of(actions)
    date = day.session.date.isoformat()
    ours, theirs = keyed_rows(session), keyed_rows(backtest)
    differences = compare(date, ours, theirs)
    touched = tuple((kind, iso(ts)) for kind, ts in day.touched)
    status = "ok" if not differences else "operator" if touched else "differs"
    return DayAudit(
        date=date,
        status=status,
        complete=day.complete,
        last_time=iso(day.last_ts),
        bars=len(day.bars),
        prints=day.prints,
        touched=touched,
        counts={k: (len(ours[k]), len(theirs[k])) for k in KINDS},
        differences=tuple(differences),
    )


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.joinpath(AUDIT_FILE).is_dir():
        raise OutputError(f"{out / AUDIT_FILE}: is a folder")


def write_json(report: AuditReport, path: Path) -> Path:
    """``report`` as JSON at ``path``, written whole or not at all (a temporary file renamed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write the audit there: {exc.strerror or exc}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it private; the audit is an ordinary file
        with os.fdopen(fd, "w") as f:
            json.dump(report.to_dict(), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def format_table(report: AuditReport) -> str:
    """One line per day (records in the session / in the backtest), then every difference."""
    head = f"{'day':<10}  {'status':<8}  " + "  ".join(f"{k + 's':>9}" for k in KINDS) + "  differences  note"
    lines = [f"audit of {report.db}", head]
    for d in report.days:
        counts = "  ".join(f"{f'{s}/{b}':>9}" for s, b in d.counts.values())
        notes = []
        if not d.complete:
            notes.append(f"partial: the log ends at {d.last_time[11:19]}")
        if d.touched:
            notes.append("operator: " + ", ".join(f"{k} {t[11:19]}" for k, t in d.touched))
        lines.append(
            f"{d.date:<10}  {d.status:<8}  {counts}  {len(d.differences):>11}  {'; '.join(notes)}".rstrip()
        )
    diffs = [x for d in report.days for x in d.differences]
    if diffs:
        lines.append("")
        lines.append("differences (session -> backtest):")
        for x in diffs:
            if x.change == "changed":
                what = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in x.fields.items())
            else:
                what = x.change
            lines.append(f"{x.day}  {x.kind:<6}  {x.key}: {what}")
    data = report.to_dict()
    verdict = "clean" if report.clean else f"{data['mismatches']} difference(s) on {data['differs']} day(s)"
    extra = f", {data['operator']} operator day(s)" if data["operator"] else ""
    lines.append(f"{data['days']} day(s): {data['ok']} ok{extra}; {verdict}")
    return "\n".join(lines)

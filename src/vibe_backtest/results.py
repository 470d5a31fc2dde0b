"""Backtest results: pandas frames for notebooks, CSV/JSON files for the command line.

Times are ISO-8601 with their New York offset (``2024-05-01T09:50:00-04:00``) in files, and
tz-aware pandas timestamps in frames.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from vibe_backtest.loop import LoopResult
from vibe_core.actions import FeedGap
from vibe_core.config import Config, config_to_dict
from vibe_core.metrics import summary_metrics

__all__ = ["BacktestResult", "TRADE_COLUMNS", "GAP_COLUMNS", "RESULT_FILES", "OutputError", "atomic_dir"]

TZ = "America/New_York"
TRADE_COLUMNS = [
    "symbol",
    "side",
    "qty",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "exit_reason",
]

#: ``gaps.csv``: the feed gaps the core recorded (:class:`~vibe_core.actions.FeedGap`), by end time
GAP_COLUMNS = ["symbol", "start", "end", "reason"]

#: The files :meth:`BacktestResult.write` makes; a folder holding only these may be replaced.
RESULT_FILES = frozenset(
    {
        "trades.csv",
        "orders.csv",
        "fills.csv",
        "equity.csv",
        "signals.csv",
        "gaps.csv",
        "summary.json",
        "config.json",
        "report.html",
        "bars.csv",
    }
)


class OutputError(ValueError):
    """The output folder cannot be written; the message names it."""


@contextlib.contextmanager
def atomic_dir(target: Path | str, replaceable: Collection[str] = RESULT_FILES) -> Iterator[Path]:
    """A fresh folder beside ``target`` (same filesystem) that becomes ``target`` when the block ends.

    Entering checks that ``target`` can be written (its parents are made) and raises
    :class:`OutputError` if not, so a caller can check before long work. If the block raises
    (``KeyboardInterrupt`` included), the temporary folder is removed and ``target`` is untouched:
    a results folder is either complete or absent, never half-written. An existing ``target``
    is replaced only when it holds nothing but ``replaceable`` names (an earlier run's files).
    """
    target = Path(target)
    _check_target(target, replaceable)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the results folder is an ordinary one
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the results folder: {exc.strerror or exc}") from None
    try:
        yield tmp
        _check_target(target, replaceable)  # it may have changed meanwhile
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_target(target: Path, replaceable: Collection[str]) -> None:
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in replaceable)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise OutputError(
                f"{target}: the folder exists and holds other files ({shown}); give a new or empty folder"
            )
    elif target.exists() or target.is_symlink():
        raise OutputError(f"{target}: exists and is not a folder")
    else:
        ancestor = target.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputError(f"{target}: cannot be made, {ancestor} is a file")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputError(f"{target}: cannot be made, {ancestor} is not writable")


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an earlier results folder there is moved aside, then deleted."""
    old: Path | None = None
    if target.is_dir() and any(target.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        target.replace(old / target.name)
    tmp.replace(target)  # an empty folder at target is replaced atomically
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _times(ns: Any) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ns, dtype="int64"), utc=True).tz_convert(TZ)


def _iso_strings(times: pd.DatetimeIndex) -> pd.Index:
    """ISO-8601 with a ``-04:00`` style offset, vectorised (pandas' tz-aware strftime is slow)."""
    if len(times) and bool(((times.microsecond != 0) | (times.nanosecond != 0)).any()):
        exact: pd.Index = pd.Index([t.isoformat() for t in times])  # keep sub-second precision
        return exact
    local = times.tz_localize(None).to_numpy(dtype="datetime64[s]")  # wall-clock time in the zone
    utc = times.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[s]")
    stamps = np.datetime_as_string(local, unit="s")
    offsets = (local.astype(np.int64) - utc.astype(np.int64)) // 60  # minutes east of UTC
    labels = {
        m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in set(offsets.tolist())
    }
    text: pd.Index = pd.Index(
        [f"{s}{labels[m]}" for s, m in zip(stamps.tolist(), offsets.tolist(), strict=True)]
    )
    return text


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = _iso_strings(pd.DatetimeIndex(out[col])).to_numpy()
    if isinstance(out.index, pd.DatetimeIndex):
        out.index = _iso_strings(out.index)
    return out


@attrs.define
class BacktestResult:
    """What a backtest produced. ``trades``, ``equity``, ``signals``, ``orders``, ``fills`` are DataFrames."""

    config: Config
    summary: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.DataFrame
    signals: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    bars: dict[str, pd.DataFrame] = attrs.Factory(dict)  #: per-symbol input bars, for the report
    gaps: pd.DataFrame = attrs.Factory(lambda: _gaps([]))  #: the feed gaps (``GAP_COLUMNS``)

    @classmethod
    def from_loop(
        cls,
        loop: LoopResult,
        config: Config,
        *,
        bars: dict[str, pd.DataFrame] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> BacktestResult:
        rec = loop.recorder
        trades = pd.DataFrame(
            {
                "symbol": [t.symbol for t in rec.trades],
                "side": [t.side.value for t in rec.trades],
                "qty": [t.qty for t in rec.trades],
                "entry_time": _times([t.entry_time for t in rec.trades]),
                "entry_price": [t.entry_price for t in rec.trades],
                "exit_time": _times([t.exit_time for t in rec.trades]),
                "exit_price": [t.exit_price for t in rec.trades],
                "pnl": [t.pnl for t in rec.trades],
                "exit_reason": [t.exit_reason.value for t in rec.trades],
            },
            columns=TRADE_COLUMNS,
        )
        equity = pd.DataFrame(
            {"cash": loop.equity_cash, "equity": loop.equity_value, "exposed": loop.exposed},
            index=pd.Index(_times(loop.equity_ts), name="time"),
        )
        signals = pd.DataFrame(
            {
                "time": _times([s.signal.ts for s in rec.signals]),
                "symbol": [s.signal.symbol for s in rec.signals],
                "side": [s.signal.side.value for s in rec.signals],
                "price": [s.signal.price for s in rec.signals],
                "stop": [s.signal.stop for s in rec.signals],
                "target": [s.signal.target for s in rec.signals],
                "range_high": [getattr(s.signal, "range_high", None) for s in rec.signals],
                "range_low": [getattr(s.signal, "range_low", None) for s in rec.signals],
                "accepted": [s.accepted for s in rec.signals],
                "qty": [s.qty for s in rec.signals],
                "reasons": ["; ".join(s.reasons) for s in rec.signals],
                "vetoes": ["; ".join(s.vetoes) for s in rec.signals],
            }
        )
        filled: dict[str, int] = {}
        for f in rec.fills:
            filled[f.order_id] = filled.get(f.order_id, 0) + f.qty
        orders = pd.DataFrame(
            {
                "time": _times([o.ts for o in rec.orders]),
                "id": [o.id for o in rec.orders],
                "symbol": [o.symbol for o in rec.orders],
                "side": [o.side.value for o in rec.orders],
                "type": [o.type.value for o in rec.orders],
                "qty": [o.qty for o in rec.orders],
                "limit_price": [o.limit_price for o in rec.orders],
                "stop_price": [o.stop_price for o in rec.orders],
                "tif": [o.tif.value for o in rec.orders],
                "tag": [o.tag for o in rec.orders],
                "parent_id": [o.parent_id for o in rec.orders],
                "filled_qty": [filled.get(o.id, 0) for o in rec.orders],
                "status": [
                    _status(rec.order_status.get(o.id, ""), filled.get(o.id, 0), o.qty) for o in rec.orders
                ],
            }
        )
        fills = pd.DataFrame(
            {
                "time": _times([f.ts for f in rec.fills]),
                "order_id": [f.order_id for f in rec.fills],
                "symbol": [f.symbol for f in rec.fills],
                "side": [f.side.value for f in rec.fills],
                "qty": [f.qty for f in rec.fills],
                "price": [f.price for f in rec.fills],
                "ref_price": [f.ref_price for f in rec.fills],
                "fee": [f.fee for f in rec.fills],
                "tag": [f.tag for f in rec.fills],
            }
        )
        if config.strategy.name == "multi":  # several strategies: each row says whose it is
            trades["strategy"] = [t.strategy for t in rec.trades]
            signals["strategy"] = [s.signal.strategy for s in rec.signals]
            orders["strategy"] = [o.strategy for o in rec.orders]
            fills["strategy"] = [f.strategy for f in rec.fills]
        # Rows in time order (stable): a bar-mode step's records come symbol by symbol, the same
        # records from prints interleave the symbols; sorted, a backtest and a replay agree row by row.
        orders = orders.sort_values("time", kind="stable", ignore_index=True)
        fills = fills.sort_values("time", kind="stable", ignore_index=True)
        summary: dict[str, Any] = summary_metrics(
            initial_capital=config.initial_capital,
            equity=np.asarray(loop.equity_value, dtype=float),
            daily_equity=np.asarray(loop.daily_equity, dtype=float),
            exposed=np.asarray(loop.exposed, dtype=bool),
            trades=rec.trades,
        )
        summary["bars_processed"] = loop.bars_processed
        summary["bars_stepped"] = loop.bars_stepped  # (the rest were skipped: nothing could change)
        summary["wall_seconds"] = loop.wall_seconds
        summary["signals"] = len(rec.signals)
        summary["signals_accepted"] = sum(1 for s in rec.signals if s.accepted)
        summary["order_rejections"] = len(rec.rejections)
        summary["risk_halts"] = len(rec.halts)
        summary["sessions"] = len(loop.daily_ts)
        summary.update(extra or {})
        return cls(
            config=config,
            summary=summary,
            trades=trades,
            equity=equity,
            signals=signals,
            orders=orders,
            fills=fills,
            bars=bars or {},
            gaps=_gaps(rec.gaps),
        )

    def write(self, out: Path | str, *, report: bool = True) -> Path:
        """Write trades/orders/fills/equity/signals/gaps CSVs, summary.json, config.json and report.html
        (and bars.csv, the input bars, when the result kept them).

        Atomically (:func:`atomic_dir`): ``out`` appears complete at the end, or not at all.
        """
        with atomic_dir(out) as folder:
            self.write_files(folder, report=report)
        return Path(out)

    def write_files(self, out: Path | str, *, report: bool = True) -> Path:
        """Write the result files into the existing folder ``out`` (not atomic: see :meth:`write`)."""
        out = Path(out)
        fmt = "%.10g"  # no float noise (-4.518999999999949) in files; 10 significant digits
        _iso(self.trades).to_csv(out / "trades.csv", index=False, float_format=fmt)
        _iso(self.orders).to_csv(out / "orders.csv", index=False, float_format=fmt)
        _iso(self.fills).to_csv(out / "fills.csv", index=False, float_format=fmt)
        _iso(self.signals).to_csv(out / "signals.csv", index=False, float_format=fmt)
        _iso(self.gaps).to_csv(out / "gaps.csv", index=False)
        eq = _iso(self.equity[["cash", "equity"]].rename_axis("time"))
        eq.index.name = "time"
        eq.to_csv(out / "equity.csv", float_format=fmt)
        if self.bars:
            self.bars_frame().to_csv(out / "bars.csv", index=False, float_format=fmt)
        (out / "summary.json").write_text(json.dumps(_json_safe(self.summary), indent=2) + "\n")
        (out / "config.json").write_text(json.dumps(config_to_dict(self.config), indent=2) + "\n")
        if report:
            self.report(out / "report.html")
        return out

    def bars_frame(self) -> pd.DataFrame:
        """The input bars as one frame (``time``, ``symbol``, OHLCV), symbol by symbol in time order.

        Written as ``bars.csv`` so a results folder is whole without its data: ``vibe-live
        serve-results`` draws the charts from it (the data folder, the sample's parameters or the
        Yahoo cache a run read from may be gone or changed by then).
        """
        parts = []
        for symbol, frame in self.bars.items():
            part = frame.rename(columns={"timestamp": "time"})
            part.insert(1, "symbol", symbol)
            parts.append(part[["time", "symbol", "open", "high", "low", "close", "volume"]])
        return _iso(pd.concat(parts, ignore_index=True))

    def report(self, path: Path | str) -> Path:
        """A self-contained interactive HTML report."""
        from vibe_backtest.report import write_report

        return write_report(self, Path(path))


def _gaps(gaps: list[FeedGap]) -> pd.DataFrame:
    """The gaps in end time order (then symbol): a backtest and a replay record the gaps of one
    instant in different orders (slice order, print order)."""
    ordered = sorted(gaps, key=lambda g: (g.end, g.symbol, g.start))
    return pd.DataFrame(
        {
            "symbol": [g.symbol for g in ordered],
            "start": _times([g.start for g in ordered]),
            "end": _times([g.end for g in ordered]),
            "reason": [g.reason for g in ordered],
        },
        columns=GAP_COLUMNS,
    )


def _status(event: str, filled: int, qty: int) -> str:
    if filled >= qty:
        return "filled"
    if event.startswith(("cancelled", "rejected")):
        return event if not filled else f"partially filled, {event}"
    return "partially filled" if filled else "working"


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out

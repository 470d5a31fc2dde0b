"""Backtest results: columns (:mod:`vibe_backtest.tables`) for the files, pandas frames for notebooks.

Times are ISO-8601 with their New York offset (``2024-05-01T09:50:00-04:00``) in files, and
tz-aware pandas timestamps in frames. The records become columns once; the frames are built only
when asked for, so writing a run's files never imports pandas.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from vibe_backtest.arrow import release_memory
from vibe_backtest.data import BarSeries
from vibe_backtest.tables import Column, Table, column, iso_times, time_column, write_csv
from vibe_core.actions import FeedGap
from vibe_core.config import Config, config_to_dict
from vibe_core.metrics import summary_metrics

if TYPE_CHECKING:
    import pandas as pd

    from vibe_backtest.loop import LoopResult

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


def _iso_strings(times: pd.DatetimeIndex) -> pd.Index:
    """ISO-8601 with a ``-04:00`` style offset (:func:`~vibe_backtest.tables.iso_times` on a pandas index)."""
    import pandas as pd

    tz = str(times.tz) if times.tz is not None else "UTC"
    text: pd.Index = pd.Index(iso_times(times.as_unit("ns").asi8, tz).to_pylist())
    return text


#: The result tables and their column names when a table is missing (a frame-built result).
_TABLE_COLUMNS: dict[str, list[str]] = {
    "trades": TRADE_COLUMNS,
    "equity": ["time", "cash", "equity", "exposed"],
    "signals": [],
    "orders": [],
    "fills": [],
    "gaps": GAP_COLUMNS,
}


@attrs.define(eq=False)
class BacktestResult:
    """What a backtest produced. ``trades``, ``equity``, ``signals``, ``orders``, ``fills``, ``gaps``
    are DataFrames (built on first use from the result's columns, :meth:`table`); ``bars`` the
    per-symbol input bars as frames (``timestamp`` + OHLCV).

    Made by :meth:`from_loop` (columns), or from frames: ``BacktestResult(config, summary, trades,
    ...)``; a frame given wins over the columns of that table (``attrs.evolve(result, trades=...)``).
    """

    config: Config
    summary: dict[str, Any]
    _trades: pd.DataFrame | None = None
    _equity: pd.DataFrame | None = None
    _signals: pd.DataFrame | None = None
    _orders: pd.DataFrame | None = None
    _fills: pd.DataFrame | None = None
    _bars: Mapping[str, pd.DataFrame | BarSeries] = attrs.Factory(dict)  #: input bars, for the report
    _gaps: pd.DataFrame | None = None  #: the feed gaps (``GAP_COLUMNS``)
    _tables: Mapping[str, Table] = attrs.field(factory=dict, repr=False)  #: columns from the loop
    _derived: dict[str, Any] = attrs.field(init=False, factory=dict, repr=False)  #: built on demand

    def _given(self, name: str) -> pd.DataFrame | None:
        frame: pd.DataFrame | None = getattr(self, f"_{name}")
        return frame

    def table(self, name: str) -> Table:
        """A result table as columns: ``trades``, ``equity``, ``signals``, ``orders``, ``fills``, ``gaps``."""
        frame = self._given(name)
        if frame is None and name in self._tables:
            return self._tables[name]
        key = f"table:{name}"
        if key not in self._derived:
            if frame is None:
                self._derived[key] = Table({c: column([]) for c in _TABLE_COLUMNS[name]})
            else:
                self._derived[key] = Table.from_frame(frame, index="time" if name == "equity" else None)
        table: Table = self._derived[key]
        return table

    def _frame(self, name: str) -> pd.DataFrame:
        frame = self._given(name)
        if frame is not None:
            return frame
        key = f"frame:{name}"
        if key not in self._derived:
            self._derived[key] = self.table(name).to_frame(index="time" if name == "equity" else None)
        built: pd.DataFrame = self._derived[key]
        return built

    @property
    def trades(self) -> pd.DataFrame:
        return self._frame("trades")

    @property
    def equity(self) -> pd.DataFrame:
        """``cash``, ``equity``, ``exposed`` indexed by ``time``."""
        return self._frame("equity")

    @property
    def signals(self) -> pd.DataFrame:
        return self._frame("signals")

    @property
    def orders(self) -> pd.DataFrame:
        return self._frame("orders")

    @property
    def fills(self) -> pd.DataFrame:
        return self._frame("fills")

    @property
    def gaps(self) -> pd.DataFrame:
        """The feed gaps (``GAP_COLUMNS``)."""
        return self._frame("gaps")

    @property
    def bars(self) -> dict[str, pd.DataFrame]:
        """Per-symbol input bars as frames (``BarSeries.to_frame``), for notebooks."""
        if "bars" not in self._derived:
            self._derived["bars"] = {
                s: v.to_frame() if isinstance(v, BarSeries) else v for s, v in self._bars.items()
            }
        frames: dict[str, pd.DataFrame] = self._derived["bars"]
        return frames

    @property
    def bar_sources(self) -> Mapping[str, pd.DataFrame | BarSeries]:
        """The input bars as kept: :class:`BarSeries` (a run) or frames (a result built from frames)."""
        return self._bars

    @classmethod
    def from_loop(
        cls,
        loop: LoopResult,
        config: Config,
        *,
        bars: Mapping[str, pd.DataFrame | BarSeries] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> BacktestResult:
        rec = loop.recorder
        tr = rec.trades
        # (enum values as ``_value_``, the member's attribute: ``.value`` is a descriptor, 10x slower)
        trades = Table(
            {
                "symbol": column([t.symbol for t in tr]),
                "side": column([t.side._value_ for t in tr]),
                "qty": column([t.qty for t in tr]),
                "entry_time": time_column([t.entry_time for t in tr]),
                "entry_price": column([t.entry_price for t in tr]),
                "exit_time": time_column([t.exit_time for t in tr]),
                "exit_price": column([t.exit_price for t in tr]),
                "pnl": column([t.pnl for t in tr]),
                "exit_reason": column([t.exit_reason._value_ for t in tr]),
            }
        )
        equity_value = np.asarray(loop.equity_value, dtype=np.float64)
        exposed = np.asarray(loop.exposed, dtype=bool)
        equity = Table(
            {
                "time": time_column(np.asarray(loop.equity_ts, dtype=np.int64)),
                "cash": column(np.asarray(loop.equity_cash, dtype=np.float64)),
                "equity": column(equity_value),
                "exposed": column(exposed),
            }
        )
        sig = [s.signal for s in rec.signals]
        signals = Table(
            {
                "time": time_column([s.ts for s in sig]),
                "symbol": column([s.symbol for s in sig]),
                "side": column([s.side._value_ for s in sig]),
                "price": column([s.price for s in sig]),
                "stop": column([s.stop for s in sig]),
                "target": column([s.target for s in sig]),
                "range_high": column([getattr(s, "range_high", None) for s in sig]),
                "range_low": column([getattr(s, "range_low", None) for s in sig]),
                "accepted": column([s.accepted for s in rec.signals]),
                "qty": column([s.qty for s in rec.signals]),
                "reasons": column(["; ".join(s.reasons) for s in rec.signals]),
                "vetoes": column(["; ".join(s.vetoes) for s in rec.signals]),
            }
        )
        filled: dict[str, int] = {}
        for f in rec.fills:
            filled[f.order_id] = filled.get(f.order_id, 0) + f.qty
        od = rec.orders
        orders = Table(
            {
                "time": time_column([o.ts for o in od]),
                "id": column([o.id for o in od]),
                "symbol": column([o.symbol for o in od]),
                "side": column([o.side._value_ for o in od]),
                "type": column([o.type._value_ for o in od]),
                "qty": column([o.qty for o in od]),
                "limit_price": column([o.limit_price for o in od]),
                "stop_price": column([o.stop_price for o in od]),
                "tif": column([o.tif._value_ for o in od]),
                "tag": column([o.tag for o in od]),
                "parent_id": column([o.parent_id for o in od]),
                "filled_qty": column([filled.get(o.id, 0) for o in od]),
                "status": column(
                    [_status(rec.order_status.get(o.id, ""), filled.get(o.id, 0), o.qty) for o in od]
                ),
            }
        )
        fl = rec.fills
        fills = Table(
            {
                "time": time_column([f.ts for f in fl]),
                "order_id": column([f.order_id for f in fl]),
                "symbol": column([f.symbol for f in fl]),
                "side": column([f.side._value_ for f in fl]),
                "qty": column([f.qty for f in fl]),
                "price": column([f.price for f in fl]),
                "ref_price": column([f.ref_price for f in fl]),
                "fee": column([f.fee for f in fl]),
                "tag": column([f.tag for f in fl]),
            }
        )
        if config.strategy.name == "multi":  # several strategies: each row says whose it is
            trades = trades.with_column("strategy", column([t.strategy for t in tr]))
            signals = signals.with_column("strategy", column([s.strategy for s in sig]))
            orders = orders.with_column("strategy", column([o.strategy for o in od]))
            fills = fills.with_column("strategy", column([f.strategy for f in fl]))
        # Rows in time order (stable): a bar-mode step's records come symbol by symbol, the same
        # records from prints interleave the symbols; sorted, a backtest and a replay agree row by row.
        orders = orders.sorted_by("time")
        fills = fills.sorted_by("time")
        summary: dict[str, Any] = summary_metrics(
            initial_capital=config.initial_capital,
            equity=equity_value,
            daily_equity=np.asarray(loop.daily_equity, dtype=float),
            exposed=exposed,
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
        tables = {
            "trades": trades,
            "equity": equity,
            "signals": signals,
            "orders": orders,
            "fills": fills,
            "gaps": _gaps(rec.gaps),
        }
        return cls(config, summary, bars=bars or {}, tables=tables)

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
        for name in ("trades", "orders", "fills", "signals"):
            write_csv(out / f"{name}.csv", self.table(name))
        write_csv(out / "gaps.csv", self.table("gaps"), float_format=None)
        eq = self.table("equity")
        write_csv(out / "equity.csv", Table({k: eq[k] for k in ("time", "cash", "equity")}))
        if self._bars:
            write_csv(out / "bars.csv", self.bar_tables())
            release_memory()  # the text of every bar, formatted a chunk at a time
        (out / "summary.json").write_text(json.dumps(_json_safe(self.summary), indent=2) + "\n")
        (out / "config.json").write_text(json.dumps(config_to_dict(self.config), indent=2) + "\n")
        if report:
            self.report(out / "report.html")
        return out

    def bar_tables(self) -> list[Table]:
        """The input bars as ``time``, ``symbol``, OHLCV tables, one a symbol (the rows of bars.csv)."""
        parts = [_bar_table(symbol, bars) for symbol, bars in self._bars.items()]
        if any(p["volume"].kind == "float" for p in parts):  # one column in a file: float if any is
            parts = [
                p.with_column("volume", Column("float", np.asarray(p.values("volume"), dtype=np.float64)))
                for p in parts
            ]
        return parts

    def bars_frame(self) -> pd.DataFrame:
        """The input bars as one frame (``time``, ``symbol``, OHLCV), symbol by symbol in time order.

        Written as ``bars.csv`` so a results folder is whole without its data: ``vibe-live
        serve-results`` draws the charts from it (the data folder, the sample's parameters or the
        Yahoo cache a run read from may be gone or changed by then).
        """
        import pandas as pd

        frames = [t.to_frame() for t in self.bar_tables()]
        return pd.concat(frames, ignore_index=True)

    def report(self, path: Path | str) -> Path:
        """A self-contained interactive HTML report."""
        from vibe_backtest.report import write_report

        return write_report(self, Path(path))


def _bar_table(symbol: str, bars: pd.DataFrame | BarSeries) -> Table:
    if isinstance(bars, BarSeries):
        volume: Any = bars.volume
        if np.all(np.mod(volume, 1.0) == 0.0) and (len(volume) == 0 or volume.max() < 2**62):
            volume = volume.astype(np.int64)  # as BarSeries.to_frame
        return Table(
            {
                "time": time_column(bars.ts),
                "symbol": Column("category", ([symbol], np.zeros(len(bars), dtype=np.int64))),
                **{name: column(getattr(bars, name)) for name in ("open", "high", "low", "close")},
                "volume": column(volume),
            }
        )
    frame = bars.rename(columns={"timestamp": "time"})
    frame.insert(1, "symbol", symbol)
    return Table.from_frame(frame[["time", "symbol", "open", "high", "low", "close", "volume"]])


def _gaps(gaps: list[FeedGap]) -> Table:
    """The gaps in end time order (then symbol): a backtest and a replay record the gaps of one
    instant in different orders (slice order, print order)."""
    ordered = sorted(gaps, key=lambda g: (g.end, g.symbol, g.start))
    return Table(
        {
            "symbol": column([g.symbol for g in ordered]),
            "start": time_column([g.start for g in ordered]),
            "end": time_column([g.end for g in ordered]),
            "reason": column([g.reason for g in ordered]),
        }
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

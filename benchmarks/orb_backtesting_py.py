"""The ORB rules of DESIGN §4 for backtesting.py (0.6.x): the backtesting.py leg of
``bench_backtest.py``, run as a script so its imports count like the other engines'.

backtesting.py trades one instrument per ``Backtest``, so each symbol runs alone with its own
10,000 of cash (no shared account across symbols, unlike vibe and the backtrader reference).
The rules, with vibe's defaults: opening range = the bars of the first 15 minutes of each NYSE
session (exchange-calendars); a long when a bar after the range first closes above the range high,
unless it closes after 15:00 ET or at/after close - 5 min; one entry a day; market entry at the
next open with ``sl`` = range low and ``tp`` = close + 2 x (close - stop), both rounded to cents;
shares = floor(min(1% x equity / (close - stop), 20% x equity / close, equity / close)); flatten at
the open of the bar starting at close - 5 min. The session flags are computed once, vectorized,
before the run, and read per bar in ``next``.

    python benchmarks/orb_backtesting_py.py --data DIR      # SYMBOL.parquet / SYMBOL.csv files
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

NY = "America/New_York"
BAR = pd.Timedelta(minutes=5)
RANGE = pd.Timedelta(minutes=15)
FLATTEN = pd.Timedelta(minutes=5)
LAST_ENTRY = pd.Timedelta(hours=15)  #: 15:00 after midnight, New York wall clock


def with_session_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """OHLCV (naive New York index) plus Day, InRange, EntryOk and Flatten columns."""
    import exchange_calendars as xcals

    index = pd.DatetimeIndex(frame.index)
    days = index.normalize()
    sched = xcals.get_calendar("XNYS").schedule.loc[days[0] : days[-1]]
    opens = sched["open"].dt.tz_convert(NY).dt.tz_localize(None)
    closes = sched["close"].dt.tz_convert(NY).dt.tz_localize(None)
    session_open = pd.DatetimeIndex(opens.reindex(days).to_numpy())
    session_close = pd.DatetimeIndex(closes.reindex(days).to_numpy())
    end = index + BAR
    flatten_at = session_close - FLATTEN
    out = frame.copy()
    out["Day"] = days.asi8 // 86_400_000_000_000
    out["InRange"] = (end <= session_open + RANGE).astype(np.int8)
    out["EntryOk"] = ((end <= days + LAST_ENTRY) & (end < flatten_at)).astype(np.int8)
    out["Flatten"] = (end >= flatten_at).astype(np.int8)
    return out


class Orb(Strategy):
    risk_per_trade_pct = 0.01
    max_position_pct = 0.20
    reward_risk = 2.0

    def init(self) -> None:
        self.day = -1
        self.high = self.low = 0.0
        self.range_bars = 0
        self.above = False
        self.traded = False

    def next(self) -> None:
        data = self.data
        day = data.Day[-1]
        if day != self.day:
            self.day, self.range_bars, self.above, self.traded = day, 0, False, False
        if data.InRange[-1]:
            high, low = data.High[-1], data.Low[-1]
            if self.range_bars == 0 or high > self.high:
                self.high = high
            if self.range_bars == 0 or low < self.low:
                self.low = low
            self.range_bars += 1
            return
        if self.range_bars == 0:
            return
        if data.Flatten[-1]:
            if self.position:
                self.position.close()
            return
        close = data.Close[-1]
        was_above, self.above = self.above, close > self.high
        if not data.EntryOk[-1] or self.traded or self.position or not self.above or was_above:
            return
        stop = round(self.low, 2)
        risk = close - stop
        if risk <= 0:
            return
        target = round(close + self.reward_risk * risk, 2)
        equity = self.equity
        qty = math.floor(
            min(
                self.risk_per_trade_pct * equity / risk,
                self.max_position_pct * equity / close,
                equity / close,
            )
            + 1e-9
        )
        if qty >= 1:
            self.buy(size=qty, sl=stop, tp=target)
            self.traded = True


def load(path: Path) -> pd.DataFrame:
    frame = (
        pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, parse_dates=["timestamp"])
    )
    index = pd.DatetimeIndex(frame["timestamp"])
    index = index.tz_localize(NY) if index.tz is None else index.tz_convert(NY)
    out = frame[["open", "high", "low", "close", "volume"]].astype(float)
    out.columns = ["Open", "High", "Low", "Close", "Volume"]
    out.index = index.tz_localize(None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The ORB in backtesting.py, one Backtest per symbol.")
    parser.add_argument("--data", required=True, metavar="DIR")
    args = parser.parse_args(argv)
    bars = trades = 0
    run_seconds = 0.0
    pnl = 0.0
    for path in sorted(Path(args.data).iterdir()):
        if path.suffix not in (".parquet", ".csv"):
            continue
        t0 = time.perf_counter()
        frame = with_session_flags(load(path))
        test = Backtest(frame, Orb, cash=10_000, commission=0.0, trade_on_close=False, finalize_trades=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = test.run()
        run_seconds += time.perf_counter() - t0
        bars += len(frame)
        trades += int(stats["# Trades"])
        pnl += float(stats["Equity Final [$]"]) - 10_000
        n_trades = int(stats["# Trades"])
        print(f"{path.stem}: bars={len(frame)} trades={n_trades} wall={time.perf_counter() - t0:.3f}")
    print(f"bars={bars} trades={trades} pnl={pnl:.2f} wall={run_seconds:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

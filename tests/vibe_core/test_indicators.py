"""The indicator bank: hand-computed values, routing, bounded memory == unbounded talipp, exact snapshots."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from talipp.indicators import ATR, EMA, RSI, SMA, VWAP
from talipp.indicators.Indicator import Indicator
from talipp.ohlcv import OHLCV

from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec, min_history
from vibe_core.indicators.bank import purge_batch
from vibe_core.indicators.rows import Row
from vibe_core.testing.builders import bar, bars_from_closes, bars_from_ohlcv
from vibe_core.testing.strategies import indicator_specs
from vibe_core.types import Timeframe

M5, M15, H1 = Timeframe.M5, Timeframe.M15, Timeframe.H1


def spec(key: str) -> IndicatorSpec:
    return IndicatorSpec.parse(key)


def feed(bank: IndicatorBank, bars: list[Bar]) -> None:
    for b in bars:
        bank.on_bar(b)


def outputs(bank: IndicatorBank, key: str, bars: list[Bar], symbol: str = "AAPL") -> list[float | None]:
    """The latest value after each bar."""
    out = []
    for b in bars:
        bank.on_bar(b)
        out.append(bank.value(symbol, key))
    return out


# ---------------------------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "key"),
    [
        (IndicatorSpec(kind="ema", period=20, timeframe=M15), "ema20@15m"),
        (IndicatorSpec(kind="sma", period=20, timeframe=M5, field="volume"), "sma20.volume@5m"),
        (IndicatorSpec(kind="atr", period=14, timeframe=M5), "atr14@5m"),
        (IndicatorSpec(kind="vwap", timeframe=M5), "vwap@5m"),
        (IndicatorSpec(kind="rsi", period=14, timeframe=H1), "rsi14@1h"),
    ],
)
def test_spec_keys_and_parse(s: IndicatorSpec, key: str) -> None:
    assert s.key == key
    assert IndicatorSpec.parse(key) == s


def test_ohlcv_kinds_leave_field_out_of_the_key() -> None:
    assert IndicatorSpec(kind="atr", period=14, timeframe=M5, field="volume").key == "atr14@5m"


@given(indicator_specs())
@settings(max_examples=100, deadline=None)
def test_parse_inverts_key(s: IndicatorSpec) -> None:
    assert IndicatorSpec.parse(s.key) == s


@pytest.mark.parametrize(
    "text",
    ["ema@5m", "vwap14@5m", "foo20@5m", "ema20@2m", "ema20.open@5m", "rsi1@5m", "ema0@5m", "ema20", ""],
)
def test_parse_rejects_bad_keys_naming_them(text: str) -> None:
    with pytest.raises(ValueError, match="bad indicator key"):
        IndicatorSpec.parse(text)


def test_spec_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="needs an integer period"):
        IndicatorSpec(kind="ema", timeframe=M5)
    with pytest.raises(ValueError, match="takes no period"):
        IndicatorSpec(kind="vwap", period=3, timeframe=M5)
    with pytest.raises(ValueError):
        IndicatorSpec(kind="macd", period=3, timeframe=M5)


def test_min_history_is_clear_of_the_period() -> None:
    assert min_history(spec("ema20@15m")) == 42
    assert min_history(spec("vwap@5m")) == 2


# ---------------------------------------------------------------------------------------------
# values computed by hand
# ---------------------------------------------------------------------------------------------


def test_ema_by_hand() -> None:
    # Seeded with the SMA of the first 3 closes (2), then alpha = 2 / (3 + 1) = 0.5.
    bank = IndicatorBank([spec("ema3@5m")])
    got = outputs(bank, "ema3@5m", bars_from_closes([1, 2, 3, 4, 5, 1]))
    assert got == [None, None, 2.0, 3.0, 4.0, 2.5]


def test_sma_of_volume_by_hand() -> None:
    bank = IndicatorBank([spec("sma3.volume@5m"), spec("sma3@5m")])
    rows = [(10, 10, 10, 10, v) for v in (100, 200, 600, 100, 1000)]
    bars = bars_from_ohlcv(rows)
    assert outputs(bank, "sma3.volume@5m", bars) == pytest.approx([None, None, 300.0, 300.0, 1700 / 3])
    assert bank.value("AAPL", "sma3@5m") == 10.0


def test_atr_by_hand() -> None:
    # True ranges: 2 (first bar: high - low), 3 (high - prev close 12 - 9), 1, 3.5 (gap: 14 - 10.5).
    # ATR(3) seeds with their mean (6 / 3 = 2), then Wilder: (2 * 2 + 3.5) / 3 = 2.5.
    rows = [(9, 10, 8, 9, 1), (9, 12, 9, 11, 1), (11, 11, 10, 10.5, 1), (12, 14, 12, 13, 1)]
    bank = IndicatorBank([spec("atr3@5m")])
    assert outputs(bank, "atr3@5m", bars_from_ohlcv(rows)) == pytest.approx([None, None, 2.0, 2.5])


def test_rsi_by_hand() -> None:
    # talipp seeds the averages from the first period - 1 changes (+1, +1): gain 1, loss 0; then
    # Wilder with change -1: gain 2/3, loss 1/3, RS 2, RSI 100 - 100/3; change +1: 7/9 and 2/9.
    bank = IndicatorBank([spec("rsi3@5m")])
    got = outputs(bank, "rsi3@5m", bars_from_closes([1, 2, 3, 2, 3]))
    assert got[:3] == [None, None, None]
    assert got[3:] == pytest.approx([100 - 100 / 3, 100 - 100 / 4.5])


def test_vwap_by_hand_and_session_reset() -> None:
    bank = IndicatorBank([spec("vwap@5m")])
    rows = [(10, 11, 9, 10, 100), (12, 13, 11, 12, 300)]  # typical prices 10 and 12
    assert outputs(bank, "vwap@5m", bars_from_ohlcv(rows)) == pytest.approx([10.0, 11.5])
    bank.reset_session("AAPL")
    assert bank.value("AAPL", "vwap@5m") is None
    later = bars_from_ohlcv([(20, 21, 19, 20, 50)], start=bars_from_ohlcv(rows)[-1].end)
    assert outputs(bank, "vwap@5m", later) == [20.0]


def test_reset_session_leaves_other_indicators_alone() -> None:
    bank = IndicatorBank([spec("vwap@5m"), spec("ema2@5m")])
    feed(bank, bars_from_closes([1, 2, 3]))
    bank.reset_session("AAPL")
    bank.reset_session("MSFT")  # never seen: nothing to do
    assert bank.value("AAPL", "ema2@5m") == 2.5
    assert bank.value("AAPL", "vwap@5m") is None


def test_warm_up_value_at_and_unknowns() -> None:
    bank = IndicatorBank([spec("ema3@15m")], symbols=["AAPL"])
    assert bank.value("AAPL", "ema3@15m") is None
    assert bank.value("MSFT", "ema3@15m") is None  # no bar yet
    feed(bank, bars_from_closes([3, 6, 9, 12], timeframe=M15))
    assert bank.value("AAPL", "ema3@15m") == 9.0
    assert bank.value_at("AAPL", "ema3@15m", 0) == 9.0
    assert bank.value_at("AAPL", "ema3@15m", 1) == 6.0
    assert bank.value_at("AAPL", "ema3@15m", 2) is None  # warming up then
    assert bank.value_at("AAPL", "ema3@15m", 10) is None  # before the first bar
    with pytest.raises(KeyError, match="ema5@15m"):
        bank.value("AAPL", "ema5@15m")
    with pytest.raises(KeyError):
        bank.value("MSFT", "ema5@15m")
    with pytest.raises(ValueError, match="back"):
        bank.value_at("AAPL", "ema3@15m", -1)


def test_routes_by_symbol_and_timeframe() -> None:
    bank = IndicatorBank([spec("ema2@15m"), spec("ema2@5m")])
    feed(bank, bars_from_closes([1, 3], timeframe=M5))
    feed(bank, bars_from_closes([10, 30], timeframe=M15, symbol="MSFT"))
    feed(bank, bars_from_closes([5], timeframe=H1))  # no spec on 1h: ignored
    assert bank.value("AAPL", "ema2@5m") == 2.0
    assert bank.value("AAPL", "ema2@15m") is None
    assert bank.value("MSFT", "ema2@15m") == 20.0
    assert bank.value("MSFT", "ema2@5m") is None
    assert bank.symbols == ("AAPL", "MSFT")


def test_duplicate_specs_share_one_indicator() -> None:
    bank = IndicatorBank([spec("ema3@5m"), spec("ema3@5m")])
    assert bank.keys == ("ema3@5m",)
    feed(bank, bars_from_closes([1, 2, 3]))
    assert bank.value("AAPL", "ema3@5m") == 2.0


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window"):
        IndicatorBank([spec("ema3@5m")], window=0)


# ---------------------------------------------------------------------------------------------
# bounded memory == unbounded talipp
# ---------------------------------------------------------------------------------------------


def random_bars(seed: int, n: int, symbol: str = "AAPL", timeframe: Timeframe = M5) -> list[Bar]:
    """A random walk with gaps, flat stretches and zero-volume bars (edge cases for RSI and VWAP)."""
    rng = random.Random(seed)
    price, rows = 100.0, []
    for _ in range(n):
        o = price * (1 + rng.gauss(0, 0.01)) if rng.random() < 0.1 else price
        if rng.random() < 0.1:
            c = o  # flat: no change for RSI
        else:
            c = max(0.01, o * (1 + rng.gauss(0, 0.005)))
        h = max(o, c) + abs(rng.gauss(0, 0.2))
        lo = max(0.001, min(o, c) - abs(rng.gauss(0, 0.2)))
        v = 0.0 if rng.random() < 0.05 else float(rng.randint(1, 100_000))
        rows.append((o, h, lo, c, v))
        price = c
    return bars_from_ohlcv(rows, symbol=symbol, timeframe=timeframe)


def reference(s: IndicatorSpec) -> Indicator:
    period = s.period
    return {"ema": EMA, "sma": SMA, "rsi": RSI, "atr": ATR}[s.kind](period) if s.kind != "vwap" else VWAP()


def ref_input(s: IndicatorSpec, b: Bar) -> Any:
    if s.ohlcv:
        return OHLCV(b.open, b.high, b.low, b.close, b.volume)
    return b.volume if s.field == "volume" else b.close


@st.composite
def bank_specs(draw: st.DrawFn) -> list[IndicatorSpec]:
    out = [
        IndicatorSpec(kind="ema", period=draw(st.integers(2, 30)), timeframe=M5),
        IndicatorSpec(kind="sma", period=draw(st.integers(1, 30)), timeframe=M5, field="volume"),
        IndicatorSpec(kind="atr", period=draw(st.integers(1, 30)), timeframe=M5),
        IndicatorSpec(kind="rsi", period=draw(st.integers(2, 30)), timeframe=M5),
        IndicatorSpec(kind="vwap", timeframe=M5),
    ]
    return out + draw(
        st.lists(indicator_specs(), max_size=2).map(lambda xs: [x for x in xs if x.timeframe is M5])
    )


@given(
    specs=bank_specs(),
    window=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    resets=st.lists(st.integers(0, 3000), max_size=5),
)
@settings(max_examples=40, deadline=None)
def test_bounded_bank_equals_unbounded_talipp(
    specs: list[IndicatorSpec], window: int, seed: int, n: int, resets: list[int]
) -> None:
    bank = IndicatorBank(specs, window=window)
    refs = {s.key: (s, reference(s)) for s in specs}
    reset_at = set(resets)
    for i, b in enumerate(random_bars(seed, n)):
        if i in reset_at:
            bank.reset_session("AAPL")
            for s, ref in refs.values():
                if s.kind == "vwap":
                    ref.remove_all()
        bank.on_bar(b)
        for key, (s, ref) in refs.items():
            ref.add(ref_input(s, b))
            assert bank.value("AAPL", key) == ref.output_values[-1], (key, i)
            assert bank.value_at("AAPL", key, 1) == (ref.output_values[-2] if len(ref) > 1 else None)
            keep = max(window, min_history(s))
            assert bank.history_len("AAPL", key) <= keep + purge_batch(keep)
    for key, (s, ref) in refs.items():  # the whole readable window, at the end
        keep = max(window, min_history(s))
        for back in range(min(keep, len(ref))):
            assert bank.value_at("AAPL", key, back) == ref.output_values[-1 - back], (key, back)


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_symbols_and_timeframes_are_independent(seed: int) -> None:
    specs = [spec("ema4@5m"), spec("ema4@15m"), spec("atr3@1h"), spec("sma3.volume@5m")]
    bank = IndicatorBank(specs, window=20)
    streams = [
        random_bars(seed + k, 300, symbol=sym, timeframe=tf)
        for k, (sym, tf) in enumerate([("AAPL", M5), ("AAPL", M15), ("MSFT", M5), ("MSFT", H1), ("TSLA", H1)])
    ]
    merged = sorted((b for bs in streams for b in bs), key=lambda b: (b.ts, b.symbol, b.timeframe))
    refs = {(sym, s.key): reference(s) for sym in ("AAPL", "MSFT", "TSLA") for s in specs}
    for b in merged:
        bank.on_bar(b)
        for s in specs:
            if s.timeframe is b.timeframe:
                refs[(b.symbol, s.key)].add(ref_input(s, b))
    for (sym, key), ref in refs.items():
        assert bank.value(sym, key) == (ref.output_values[-1] if len(ref) else None), (sym, key)


# ---------------------------------------------------------------------------------------------
# snapshots
# ---------------------------------------------------------------------------------------------


def internals(bank: IndicatorBank) -> dict[tuple[str, str], dict[str, Any]]:
    """Every attribute of every talipp object, by value; a bar input (a ``Row`` fed by the bank, an
    ``OHLCV`` after a restore) compares as its five numbers, which is all the indicators read."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Bar | Row | OHLCV):
            return ("ohlcv", value.open, value.high, value.low, value.close, value.volume)
        return value

    def attrs_of(ind: Indicator) -> dict[str, Any]:
        out = {}
        for name, value in vars(ind).items():
            if name in ("managed_sequences", "sub_indicators"):
                value = [attrs_of(v) if isinstance(v, Indicator) else plain(list(v)) for v in value]
            out[name] = plain(value)
        return out

    return {(sym, key): attrs_of(ind) for sym, per in bank._indicators.items() for key, ind in per.items()}


@given(
    specs=bank_specs(),
    window=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 2000),
    cut=st.floats(0, 1),
    reset=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_snapshot_restore_continues_bit_for_bit(
    specs: list[IndicatorSpec], window: int, seed: int, n: int, cut: float, reset: bool
) -> None:
    bars = random_bars(seed, n) + random_bars(seed + 1, n // 3, symbol="MSFT")
    bars.sort(key=lambda b: b.ts)
    k = int(cut * len(bars))
    bank = IndicatorBank(specs, window=window, symbols=["GOOGL"])
    feed(bank, bars[:k])
    data = json.loads(json.dumps(bank.snapshot(), allow_nan=False))
    restored = IndicatorBank.restore(data)
    assert internals(restored) == internals(bank)
    assert restored.snapshot() == bank.snapshot()
    assert restored == bank
    if reset:
        bank.reset_session("AAPL")
        restored.reset_session("AAPL")
    for b in bars[k:]:
        bank.on_bar(b)
        restored.on_bar(b)
        for key in bank.keys:
            assert restored.value(b.symbol, key) == bank.value(b.symbol, key)
            assert restored.value_at(b.symbol, key, 1) == bank.value_at(b.symbol, key, 1)
    assert internals(restored) == internals(bank)


def test_refeeding_a_window_would_not_be_exact() -> None:
    # Why restore copies talipp's lists: a fresh EMA fed the kept window re-seeds from it.
    closes = [100 + (i % 7) * 0.37 for i in range(200)]
    bank = IndicatorBank([spec("ema5@5m")], window=20)
    feed(bank, bars_from_closes(closes))
    fresh = EMA(5, input_values=closes[-bank.history_len("AAPL", "ema5@5m") :])
    assert fresh.output_values[-1] != bank.value("AAPL", "ema5@5m")
    restored = IndicatorBank.restore(json.loads(json.dumps(bank.snapshot())))
    assert restored.value("AAPL", "ema5@5m") == bank.value("AAPL", "ema5@5m")


def test_restore_rejects_a_snapshot_that_does_not_fit() -> None:
    bank = IndicatorBank([spec("ema3@5m"), spec("atr3@5m")])
    bank.on_bar(bar(close=101.0))
    data = bank.snapshot()
    del data["symbols"]["AAPL"]["atr3@5m"]
    with pytest.raises(ValueError, match="AAPL"):
        IndicatorBank.restore(data)
    data = bank.snapshot()
    data["symbols"]["AAPL"]["atr3@5m"]["managed"] = []
    with pytest.raises(ValueError, match="ATR"):
        IndicatorBank.restore(data)


def test_banks_compare_by_content() -> None:
    a = IndicatorBank([spec("ema3@5m")])
    b = IndicatorBank([spec("ema3@5m")])
    bars = bars_from_closes([1, 2, 3, 4])
    feed(a, bars)
    feed(b, bars)
    assert a == b
    b.on_bar(bar(ts=bars[-1].end, close=9.0))
    assert a != b

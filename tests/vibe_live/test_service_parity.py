"""Replay parity, on real processes: the sample market through ``vibe-live run --replay sample --clock
feed`` and through ``vibe-backtest run`` (default preset, validation on) give identical trades.csv,
orders.csv and fills.csv, byte for byte; and frames committed in batches log exactly what one commit
per frame logs."""

from __future__ import annotations

from tests.vibe_live.live_files import COMPARED, export, live, sample_backtest

from vibe_live.store import Store


def test_a_replay_through_the_service_equals_the_backtest(tmp_path):
    done = live("run", "--replay", "sample", "--clock", "feed", "--db", "live.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    sample_backtest(tmp_path)
    exported = export(tmp_path / "live.db", tmp_path / "live")
    for name in COMPARED:
        ours, theirs = (exported / name).read_text(), (tmp_path / "bt" / name).read_text()
        assert ours == theirs, name
    assert "started" in done.stderr and "trade closed" in done.stderr and "replay finished" in done.stderr

    # frames committed together (a fast replay's batches) log exactly what one commit per frame logs
    args = ["run", "--replay", "sample", "--clock", "feed", "--db", "one.db", "--set", "service.max_batch=1"]
    single = live(*args, cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    with Store(tmp_path / "live.db", readonly=True) as a, Store(tmp_path / "one.db", readonly=True) as b:
        for table in ("events", "orders", "fills", "trades", "signals", "equity", "sessions"):
            assert a.rows(table) == b.rows(table), table

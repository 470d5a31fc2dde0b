"""The store on real SQLite files: the log round-trips every event, snapshots, idempotent read rows,
and every file that is not a usable vibe store is refused with a StoreError naming it."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.actions import SignalEvaluated, TradeClosed
from vibe_core.events import Clock, Filled, OrderAccepted, OrderCancelled, Trade
from vibe_core.testing import strategies as vst
from vibe_live.store import Store, StoreError
from vibe_live.store_schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate

T0 = 1_714_570_200_000_000_000


def _prints(n, start=0):
    return [
        Trade(symbol="AAPL", ts=T0 + (start + i) * 1_000, price=100 + i / 100, size=1.0) for i in range(n)
    ]


@settings(max_examples=30, deadline=None)
@given(groups=st.lists(st.lists(vst.events(), max_size=6), max_size=5))
def test_the_log_gives_back_every_event_in_order(groups):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vibe.db"
        sent, seqs = [], []
        with Store(path) as store:
            for group in groups:
                seqs.extend(store.append(group))
                sent.extend(group)
        assert seqs == list(range(1, len(sent) + 1))
        with Store(path, readonly=True) as store:
            assert list(store.events_after(0, batch=4)) == list(zip(seqs, sent, strict=True))
            k = len(sent) // 2
            assert [e for _, e in store.events_after(k)] == sent[k:]


def test_a_new_store_is_a_wal_file_with_the_vibe_identity(tmp_path):
    path = tmp_path / "var" / "vibe.db"
    with Store(path) as store:
        assert store.last_seq() == 0
        store.append(_prints(3))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    kinds = conn.execute("SELECT seq, kind FROM events").fetchall()
    conn.close()
    assert kinds == [(1, "Trade"), (2, "Trade"), (3, "Trade")]


def test_sequence_numbers_continue_after_a_reopen(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as store:
        assert store.append(_prints(2)) == [1, 2]
        assert store.append([]) == []
    with Store(path) as store:
        assert store.append(_prints(2, start=2)) == [3, 4]
        assert store.last_seq() == 4


def test_synchronous_follows_the_durability_asked_for(tmp_path):
    with Store(tmp_path / "a.db") as normal, Store(tmp_path / "b.db", durability="full") as full:
        assert normal._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert full._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with pytest.raises(StoreError, match="unknown durability 'fast'"):
        Store(tmp_path / "c.db", durability="fast")  # type: ignore[arg-type]


def test_the_latest_snapshot_wins_and_old_ones_are_pruned(tmp_path):
    with Store(tmp_path / "vibe.db") as store:
        assert store.latest_snapshot() is None
        store.append(_prints(10))
        for seq in (2, 4, 6, 8):
            store.save_snapshot(seq, {"seq": seq, "nested": {"x": [1.5, None]}}, keep=2)
        assert store.latest_snapshot() == (8, {"seq": 8, "nested": {"x": [1.5, None]}})
        kept = store._db.execute("SELECT seq, ts FROM snapshots ORDER BY seq").fetchall()
        assert kept == [(6, _prints(10)[5].ts), (8, _prints(10)[7].ts)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(vst.filled(), vst.order_accepted(), vst.order_cancelled(), vst.order_rejected(),
                      vst.trade_closed(), vst.signal_evaluated(), vst.risk_halted(), vst.notifies()),
            max_size=5,
        ),
        max_size=6,
    )
)  # fmt: skip
def test_recording_the_same_actions_again_adds_no_row(per_event):
    results = list(enumerate(per_event, start=1))
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "vibe.db") as store:
        tables = ("orders", "order_events", "fills", "trades", "signals", "halts", "equity", "sessions")
        sample = [(1_000, 1, 10_000.0, 10_010.5, True)]
        session = [("2024-05-01", 1, 2, 1, 10_000.0, 10_010.5)]
        store.record(results, equity=sample, sessions=session)
        first = {t: store.rows(t) for t in tables}
        store.record(results[len(results) // 2 :], equity=sample, sessions=session)
        store.record(results, equity=sample, sessions=session)
        assert {t: store.rows(t) for t in tables} == first
    every = [a for actions in per_event for a in actions]
    n = {
        "fills": sum(isinstance(a, Filled) for a in every),
        "trades": sum(isinstance(a, TradeClosed) for a in every),
        "signals": sum(isinstance(a, SignalEvaluated) for a in every),
    }
    assert {t: len(first[t]) for t in n} == n


def test_order_rows_follow_the_order_life(tmp_path):
    from vibe_core.models import Order
    from vibe_core.types import Side

    order = Order(id="AAPL-20240501-1", symbol="AAPL", side=Side.BUY, qty=10, ts=5)
    with Store(tmp_path / "vibe.db") as store:
        store.record([(1, [OrderAccepted(ts=5, order_id=order.id, order=order)])])
        assert store.rows("orders")[0]["status"] == "accepted"
        store.record([(2, [OrderCancelled(ts=9, order_id=order.id, reason="eod")])])
        (row,) = store.rows("orders")
        assert (row["id"], row["qty"], row["side"], row["seq"], row["status"]) == (
            order.id, 10, "buy", 1, "cancelled: eod",
        )  # fmt: skip
        assert [(e["kind"], e["reason"]) for e in store.rows("order_events")] == [
            ("accepted", ""),
            ("cancelled", "eod"),
        ]


# -- refusals ------------------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"hello, this is a text file\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.db: not a SQLite database \(it starts with b'hello, t'\)"):
        Store(path)
    assert path.read_bytes() == b"hello, this is a text file\n" * 100
    assert not (tmp_path / "notes.db-wal").exists()


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    expected = r"other\.db: not a vibe store \(SQLite application_id 0x0, tables: customers\)"
    with pytest.raises(StoreError, match=expected):
        Store(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 42")
    conn.execute("DROP TABLE customers")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"not a vibe store \(SQLite application_id 0x2a"):
        Store(path, readonly=True)


def test_a_store_of_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "vibe.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    expected = rf"newer vibe \(store schema {SCHEMA_VERSION + 1}, this vibe knows up to {SCHEMA_VERSION}\)"
    with pytest.raises(StoreError, match=expected):
        Store(path)


def test_a_damaged_store_is_refused_at_open(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as store:
        for k in range(20):
            store.append(_prints(200, start=200 * k))
    size = path.stat().st_size
    conn = sqlite3.connect(path)
    schema_end = conn.execute("SELECT max(rootpage) FROM sqlite_master").fetchone()[0] + 2
    conn.close()  # (the schema outgrows page 1 as migrations add tables: its pages come first)
    assert size > (schema_end + 20) * 4096
    with path.open("r+b") as f:  # keep the header and the schema, scribble over the log's pages
        f.seek(schema_end * 4096)
        f.write(b"\xa5" * (size - (schema_end + 4) * 4096))
    with pytest.raises(StoreError, match=r"vibe\.db: the database is damaged: Page \d+: .* more\)$"):
        Store(path)


def test_a_truncated_header_is_refused(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as store:
        store.append(_prints(5))
    data = path.read_bytes()
    path.write_bytes(data[:100])  # the header and nothing else
    with pytest.raises(StoreError, match=r"vibe\.db"):
        Store(path)


def test_paths_that_cannot_be_stores(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    with pytest.raises(StoreError, match=r"missing\.db: no such database"):
        Store(tmp_path / "missing.db", readonly=True)


def test_one_writer_at_a_time_and_readers_cannot_write(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as writer:
        writer.append(_prints(2))
        with pytest.raises(StoreError, match=r"in use by another vibe-live process"):
            Store(path)
        with Store(path, readonly=True) as reader:
            assert reader.last_seq() == 2
            with pytest.raises(StoreError, match="opened read-only; cannot append events"):
                reader.append(_prints(1))
    Store(path).close()  # the lock went with the writer


def test_a_failing_migration_leaves_the_store_at_its_version(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as store:
        store.append(_prints(4))
    conn = sqlite3.connect(path, isolation_level=None)
    broken = (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)", "CREATE TABLE events (y INTEGER)"))
    with pytest.raises(StoreError, match=rf"migration {SCHEMA_VERSION + 1} failed on 'CREATE TABLE events'"):
        migrate(conn, path, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    grown = (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)", "ALTER TABLE extra ADD COLUMN y TEXT"))
    assert migrate(conn, path, grown) == SCHEMA_VERSION
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert [r[1] for r in conn.execute("PRAGMA table_info(extra)")] == ["x", "y"]
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    conn.close()


def test_an_old_store_is_migrated_at_open(tmp_path):
    path = tmp_path / "vibe.db"
    conn = sqlite3.connect(path)  # an empty SQLite file: version 0, no identity yet
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    with Store(path) as store:
        assert store.append([Clock(ts=1)]) == [1]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_an_unreadable_logged_event_names_its_seq(tmp_path):
    path = tmp_path / "vibe.db"
    with Store(path) as store:
        store.append(_prints(3))
        store._db.execute('UPDATE events SET payload = \'{"type": "Trade", "symbol": 5}\' WHERE seq = 2')
        with pytest.raises(StoreError, match="logged event 2 cannot be read back"):
            list(store.events_after(0))


def test_a_non_finite_value_is_not_logged(tmp_path):
    import attrs

    bad = attrs.evolve(_prints(1)[0], ts_recv=None)
    object.__setattr__(bad, "price", float("nan"))  # a value no validated event can hold
    with Store(tmp_path / "vibe.db") as store:
        with pytest.raises(StoreError, match="cannot log Trade at"):
            store.append([*_prints(2), bad])
        assert store.last_seq() == 0  # all or nothing


def test_a_version_1_store_gains_the_gaps_table_and_keeps_its_rows(tmp_path):
    from vibe_core.actions import FeedGap

    path = tmp_path / "vibe.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:1])  # a store written before the feed gate
    conn.execute("INSERT INTO meta VALUES ('config', '{}')")
    conn.close()
    with Store(path) as store:
        assert store.get_meta("config") == "{}"
        (seq,) = store.append([Clock(ts=1)])
        gap = FeedGap(symbol="AAPL", start=1, end=2, reason="stale")
        store.record([(seq, [gap])])
        store.record([(seq, [gap])])  # (a replay writes the same key again)
        rows = store.rows("gaps")
    assert [(r["seq"], r["idx"], r["symbol"], r["start"], r["end"], r["reason"]) for r in rows] == [
        (seq, 0, "AAPL", 1, 2, "stale")
    ]

"""Finnhub messages parsed: every row of a batched trade frame is a print stamped with its own ``t``,
conditions kept beside it; bad rows, malformed JSON and unknown types are named faults, never errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vibe_live.feeds.finnhub import http_url, mask_token
from vibe_live.feeds.finnhub_parse import parse_message

SYMBOLS = {"AAPL", "TSLA"}
REAL = (  # protocols.md B3: a real post-market US-equity frame
    '{"data":[{"c":["1","8","24","12"],"p":122.1,"s":"TSLA","t":1672348887195,"v":1},'
    '{"c":["1","24","12"],"p":129.58,"s":"AAPL","t":1672348887666,"v":1}],"type":"trade"}'
)


def test_every_row_of_a_batched_frame_is_a_print_with_its_own_time_and_conditions():
    message = parse_message(REAL, 42, SYMBOLS)
    assert message.kind == "trade" and not message.faults
    assert [(t.symbol, t.ts, t.price, t.size, t.ts_recv) for t in message.trades] == [
        ("TSLA", 1672348887195_000_000, 122.1, 1.0, 42),
        ("AAPL", 1672348887666_000_000, 129.58, 1.0, 42),
    ]
    assert message.conditions == [("1", "8", "24", "12"), ("1", "24", "12")]


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        ({"p": 1.0, "t": 1, "v": 1}, "row missing s"),
        ({"s": "AAPL", "t": 1, "v": 1}, "row missing p"),
        ({"s": "AAPL", "p": 1.0, "v": 1}, "row missing t"),
        ({"s": "AAPL", "p": 1.0, "t": 1}, "row missing v"),
        ({"s": "AAPL", "p": 0, "t": 1, "v": 1}, "bad row p"),
        ({"s": "AAPL", "p": "1.0", "t": 1, "v": 1}, "bad row p"),
        ({"s": "AAPL", "p": 1.0, "t": 1.5, "v": 1}, "bad row t"),
        ({"s": "AAPL", "p": 1.0, "t": True, "v": 1}, "bad row t"),
        ({"s": "AAPL", "p": 1.0, "t": 1, "v": -1}, "bad row v"),
        ({"s": "", "p": 1.0, "t": 1, "v": 1}, "bad row s"),
        ({"s": "MSFT", "p": 1.0, "t": 1, "v": 1}, "unsubscribed symbol"),
        ([1, 2], "bad row"),
    ],
)
def test_a_bad_row_is_a_named_fault_and_the_rest_of_the_frame_stands(row, kind):
    good = {"s": "AAPL", "p": 10.0, "t": 5, "v": 0}
    message = parse_message(json.dumps({"type": "trade", "data": [good, row, good]}), 0, SYMBOLS)
    assert [f[0] for f in message.faults] == [kind]
    assert [(t.ts, t.size) for t in message.trades] == [(5_000_000, 0.0)] * 2
    assert message.conditions == [(), ()]


@pytest.mark.parametrize(
    ("text", "kind", "fault"),
    [
        ('{"type":"ping"}', "ping", None),
        ('{"type":"error","msg":"Subscribing to too many symbols"}', "error", None),
        ('{"type":"trade","data":[{"s":', "fault", "malformed json"),
        ("[1]", "fault", "malformed json"),
        ('{"type":"news","data":[]}', "fault", "unknown type"),
        ('{"type":"trade","data":{}}', "trade", "bad trade frame"),
    ],
)
def test_other_messages(text, kind, fault):
    message = parse_message(text, 0, SYMBOLS)
    assert message.kind == kind and not message.trades
    assert [f[0] for f in message.faults] == ([fault] if fault else [])
    if kind == "error":
        assert message.error == "Subscribing to too many symbols"


@given(st.text(max_size=60))
def test_no_text_makes_the_parser_raise(text):
    parse_message(text, 0, SYMBOLS)


def test_the_key_never_shows_in_a_logged_url():
    url = http_url("wss://ws.finnhub.io", "s3cret")
    assert url == "https://ws.finnhub.io?token=s3cret"
    assert mask_token(url) == "https://ws.finnhub.io?token=***"
    assert http_url("ws://127.0.0.1:9/x?a=1", "k") == "http://127.0.0.1:9/x?a=1&token=k"

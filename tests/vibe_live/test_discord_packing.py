"""Packing notifications into Discord messages: every limit held, no character lost, bursts coalesced.

The limits are checked by the fake server's validator (an independent reading of Discord's embed
limits), and the text is rebuilt here from the wire form, slot by slot.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.fakes.discord_server import embed_problems

from vibe_live.notify.items import Item
from vibe_live.notify.outbox import OutboxRow
from vibe_live.notify.packing import FILLER, Block, blocks, chunks, item_messages, pack, size
from vibe_live.notify.sender import WebhookSender

# any text: astral characters (2 UTF-16 units), whitespace runs, newlines; never the filler itself
_ALPHABET = st.characters(blacklist_characters=FILLER, blacklist_categories=("Cs",))
_TEXT = st.one_of(
    st.text(_ALPHABET, max_size=40),
    st.text(_ALPHABET, max_size=3000),
    st.builds(lambda c, n: c * n, st.sampled_from([" ", "a", "\n", "😀", "ab "]), st.integers(0, 7000)),
)


def unfill(piece: str) -> str:
    """A piece as the text it carries: a leading filler before blank text is not text."""
    return piece[1:] if piece.startswith(FILLER) and not piece[1:].strip() else piece


@st.composite
def block_lists(draw: st.DrawFn) -> list[Block]:
    n = draw(st.integers(1, 4))
    out = []
    for _ in range(n):
        fields = draw(st.lists(st.tuples(_TEXT, _TEXT), max_size=30))
        out.append(Block(draw(_TEXT), draw(_TEXT), tuple(fields)))
    return out


def _streams(messages: list[list[dict]]) -> dict[str, str]:
    out = {"title": "", "description": "", "name": "", "value": ""}
    for message in messages:
        for embed in message:
            out["title"] += unfill(embed.get("title", ""))
            out["description"] += unfill(embed.get("description", ""))
            for f in embed.get("fields", []):
                out["name"] += unfill(f["name"])
                out["value"] += unfill(f["value"])
    return out


@settings(max_examples=150, deadline=None)
@given(block_lists())
def test_any_content_packs_into_messages_within_every_limit_losing_no_character(block_list):
    messages = pack(block_list)
    for message in messages:
        assert message, "an empty message"
        assert embed_problems({"embeds": message}) == []
    got = _streams(messages)
    assert got["title"] == "".join(b.title for b in block_list)
    assert got["description"] == "".join(b.description for b in block_list)
    assert got["name"] == "".join(n for b in block_list for n, _ in b.fields)
    assert got["value"] == "".join(v for b in block_list for _, v in b.fields)
    fields_in = sum(len(b.fields) for b in block_list)
    fields_out = sum(len(e.get("fields", [])) for m in messages for e in m)
    assert fields_out >= fields_in


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.sampled_from([256, 1024, 4096]))
def test_chunks_respect_the_limit_and_join_back(text, limit):
    pieces = chunks(text, limit)
    assert all(0 < size(p) <= limit and p.strip() for p in pieces)
    assert "".join(unfill(p) for p in pieces) == text


def test_a_long_description_is_split_over_embeds_and_messages_not_truncated():
    text = "".join(f"line {i:05d} of the report\n" for i in range(900))  # ~23k characters
    messages = pack([Block("Report", text)])
    assert len(messages) >= 4
    assert "".join(e.get("description", "") for m in messages for e in m) == text
    assert messages[0][0]["title"] == "Report"
    # cut at line ends: every piece but the last ends with a newline
    pieces = [e["description"] for m in messages for e in m if "description" in e]
    assert all(p.endswith("\n") for p in pieces[:-1])


def _breakout(i: int) -> Item:
    symbol = ["AAPL", "MSFT", "AMZN", "TSLA", "GOOGL"][i]
    return Item(
        key=f"fill:{i}:0", kind="fill", title=f"{symbol} buy 10 @ {100 + i}.00", fields=(("tag", "entry"),)
    )


def test_five_breakouts_in_a_burst_are_one_embed_with_five_fields():
    messages = item_messages([_breakout(i) for i in range(5)])
    assert len(messages) == 1 and len(messages[0]) == 1
    embed = messages[0][0]
    assert embed["title"] == "Orders filled (5)"
    assert [f["name"] for f in embed["fields"]] == [_breakout(i).title for i in range(5)]
    assert all(f["value"] == "tag: entry" for f in embed["fields"])


def test_a_lone_item_keeps_its_title_and_fields_and_kinds_are_not_mixed_in_one_embed():
    trade = Item(key="trade:1:0", kind="trade", title="AAPL long closed: +10.00", fields=(("R", "+1.00 R"),))
    got = blocks([_breakout(0), _breakout(1), trade])
    assert [b.title for b in got] == ["Orders filled (2)", "AAPL long closed: +10.00"]
    assert got[1].fields == (("R", "+1.00 R"),)


def test_thirty_items_of_one_kind_overflow_into_a_second_embed_not_a_lost_field():
    items = [
        Item(key=f"fill:{i}:0", kind="fill", title=f"X{i} buy 1 @ 1.00", fields=(("tag", "e"),))
        for i in range(30)
    ]
    (message,) = item_messages(items)
    names = [f["name"] for e in message for f in e["fields"]]
    assert names == [f"X{i} buy 1 @ 1.00" for i in range(30)]
    assert [len(e["fields"]) for e in message] == [25, 5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fill", "trade", "notice"]), st.integers(0, 3000), st.booleans()),
                min_size=1, max_size=60))  # fmt: skip
def test_a_coalesced_run_is_the_longest_prefix_that_fits_one_message(specs):
    rows = [
        OutboxRow(
            i, f"k{i}", 0, 0, Item(key=f"k{i}", kind=kind, title=f"t{i}", description="d" * n, urgent=u)
        )
        for i, (kind, n, u) in enumerate(specs)
    ]
    unit, messages = WebhookSender._run_of(rows)
    assert messages == item_messages([r.item for r in unit])
    assert [r.id for r in unit] == list(range(len(unit)))  # a prefix, in order
    if len(unit) > 1:
        assert len(messages) == 1 and not any(r.item.urgent for r in unit)
    if len(messages) == 1 and len(unit) < len(rows) and not rows[0].item.urgent:
        following = rows[len(unit)]
        assert following.item.urgent or len(item_messages([r.item for r in rows[: len(unit) + 1]])) > 1

"""Items -> Discord messages within every embed limit: coalesce a burst, split long content.

Limits (Discord "Embed Limits"; over any of them the webhook answers ``400``): title 256 characters,
description 4096, 25 fields per embed, field name 256 and value 1024, 6000 characters summed over
all embeds of a message, 10 embeds per message. Sizes are counted in UTF-16 code units (what a
JavaScript string length counts), never less than Discord's count.

Nothing is truncated: a string over its limit is cut into pieces (at a newline, else a space, in
the second half of the window when there is one) that go, in order, into the same slot of the next
embeds: a long title continues in the title of the following embed, a long description in its
description, a long field value in continuation fields. An embed holds one block's pieces only, in
the order title, description, fields; a message is closed when the next piece would break its
6000 or 10-embed limit. Discord refuses an empty or blank field name or value, so a piece that is
empty or only whitespace is sent after :data:`FILLER` (a zero-width space); dropping that one
leading filler from such pieces gives back the text exactly.

Coalescing (:func:`blocks`): consecutive items of one kind become one block (one embed: "Trades
closed (5)" with a field per item); a lone item keeps its own title, description and fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from vibe_live.logs import iso
from vibe_live.notify.items import COLORS, Item

__all__ = [
    "TITLE",
    "DESCRIPTION",
    "FIELDS",
    "FIELD_NAME",
    "FIELD_VALUE",
    "TOTAL",
    "EMBEDS",
    "FILLER",
    "Block",
    "size",
    "chunks",
    "blocks",
    "pack",
    "item_messages",
]

TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, TOTAL, EMBEDS = 256, 4096, 25, 256, 1024, 6000, 10
FILLER = "\u200b"
_INLINE = 32  #: a lone item's fields this short sit side by side

Embed = dict[str, Any]
Message = list[Embed]

_GROUP_TITLES = {
    "fill": "Orders filled",
    "trade": "Trades closed",
    "veto": "Signals vetoed",
    "feed": "Feed",
    "gap": "Feed gaps",
    "error": "Errors",
    "notice": "Notices",
    "service": "Service",
    "halt": "Risk halts",
    "summary": "Daily summaries",
}


@attrs.frozen
class Block:
    """One embed's worth of content before splitting."""

    title: str = ""
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    color: int = COLORS["info"]
    ts: int = 0
    inline: bool = False


def size(text: str) -> int:
    """Length in UTF-16 code units (an astral character such as an emoji counts 2)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _fit(text: str, start: int, limit: int) -> int:
    """The end of the longest slice from ``start`` of at most ``limit`` UTF-16 units."""
    end = min(start + limit, len(text))
    while end > start and size(text[start:end]) > limit:
        end -= max(1, (size(text[start:end]) - limit + 1) // 2)
    return end


def chunks(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` units, blank pieces after :data:`FILLER`.

    ``"".join(p[1:] if blank(p) else p)`` over the pieces is ``text`` (see the module docstring).
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        end = _fit(text, i, limit)
        if end < len(text):
            floor = i + (end - i) // 2
            cut = text.rfind("\n", floor, end)
            if cut < floor:
                cut = text.rfind(" ", floor, end)
            if cut >= floor:
                end = cut + 1
        piece = text[i:end]
        if not piece.strip():
            end = _fit(text, i, limit - 1)
            piece = FILLER + text[i:end]
        out.append(piece)
        i = end
    return out


def _slot(text: str, limit: int) -> list[str]:
    """A required slot (field name or value): never empty."""
    return chunks(text, limit) or [FILLER]


def blocks(items: Sequence[Item]) -> list[Block]:
    """Coalesce consecutive items of one kind into one block each (a lone item is its own block)."""
    out: list[Block] = []
    for kind, group in itertools.groupby(items, key=lambda item: item.kind):
        run = list(group)
        if len(run) == 1:
            item = run[0]
            inline = all(size(v) <= _INLINE for _, v in item.fields)
            out.append(Block(item.title, item.description, item.fields, item.colour, item.ts, inline))
        else:
            worst = max(run, key=lambda item: ("info", "warning", "critical").index(item.severity))
            title = f"{_GROUP_TITLES.get(kind, kind)} ({len(run)})"
            fields = tuple((item.title, item.compact()) for item in run)
            out.append(Block(title, "", fields, worst.colour, run[-1].ts))
    return out


def _pieces(block: Block) -> Iterator[tuple[str, str, str]]:
    for piece in chunks(block.title, TITLE):
        yield "title", piece, ""
    for piece in chunks(block.description, DESCRIPTION):
        yield "description", piece, ""
    for name, value in block.fields:
        pairs = itertools.zip_longest(_slot(name, FIELD_NAME), _slot(value, FIELD_VALUE), fillvalue=FILLER)
        for n, v in pairs:
            yield "field", n, v


def pack(block_list: Sequence[Block]) -> list[Message]:
    """The messages (each a list of embeds) carrying ``block_list`` in order, within every limit."""
    messages: list[Message] = []
    current: Message = []
    total = 0
    for block in block_list:
        embed: Embed | None = None
        for slot, a, b in _pieces(block):
            cost = size(a) + size(b)
            new = (
                embed is None
                or (slot == "title" and any(k in embed for k in ("title", "description", "fields")))
                or (slot == "description" and ("description" in embed or "fields" in embed))
                or (slot == "field" and len(embed.get("fields", ())) >= FIELDS)
            )
            if total + cost > TOTAL or (new and len(current) >= EMBEDS):
                messages.append(current)
                current, total, new = [], 0, True
            if new or embed is None:
                first = embed is None
                embed = {"color": block.color}
                if first and block.ts:
                    embed["timestamp"] = iso(block.ts)
                current.append(embed)
            if slot == "field":
                embed.setdefault("fields", []).append(
                    {"name": a, "value": b, "inline": block.inline and len(block.fields) > 1}
                )
            else:
                embed[slot] = a
            total += cost
    if current:
        messages.append(current)
    return messages


def item_messages(items: Sequence[Item]) -> list[Message]:
    """The messages for ``items`` sent together: coalesced, then packed."""
    return pack(blocks(items))

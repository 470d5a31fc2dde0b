"""Configuration layers with provenance: merge nested dicts, remember who set every leaf.

Shared by the shells (``vibe-backtest`` and the live service): a :class:`Layer` is a nested dict
and a name (``default``, a file's path, ``environment``, ``--set``, ``--grid``); later layers win
key by key. :func:`merge_layers` returns the merged dict and, for every leaf key path, the origin
of its value (the layer's name, or a finer one such as the environment variable's name).
:func:`build_layers` hands the merged dict to the typed builder (``config_from_dict``) and, when
it refuses, says which layer (and which variable) brought the bad key. :func:`render_tree` prints
a tree with its provenance, secrets masked.

This module knows nothing about the config's schema: the builder is the one judge of keys and
types, so a strategy's own config section is checked by whatever class the builder picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

__all__ = [
    "DEFAULT",
    "Layer",
    "LayerError",
    "leaves",
    "merge_layers",
    "build_layers",
    "render_tree",
    "is_secret",
    "MASK",
]

DEFAULT = "default"  #: the provenance of a value no layer set
MASK = "****"
_SECRET_WORDS = ("key", "token", "secret", "webhook", "password")

T = TypeVar("T")
Path = tuple[str, ...]


class LayerError(ValueError):
    """A layer's key or value was refused; the message names the layer and the key path."""


@attrs.frozen
class Layer:
    """One source of settings: ``data`` (nested mappings) named ``name``.

    ``sources`` maps a dotted leaf path to a finer origin than the layer's name (the environment
    layer names each variable: ``{"strategy.reward_risk": "VIBE__STRATEGY__REWARD_RISK"}``).
    """

    name: str
    data: Mapping[str, Any]
    sources: Mapping[str, str] = attrs.field(factory=dict)

    def origin(self, path: str) -> str:
        """Where the value at ``path`` came from, as provenance shows it."""
        return self.sources.get(path, self.name)

    def describe(self, path: str) -> str:
        """The origin as an error message names it: ``environment VIBE__SEED``, ``cfg.yaml``."""
        origin = self.origin(path)
        return self.name if origin == self.name else f"{self.name} {origin}"


def _dotted(path: Path) -> str:
    return ".".join(path)


def leaves(data: Mapping[str, Any], prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (key path, value) of nested mappings; a non-mapping value is a leaf."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from leaves(value, path)
        else:
            yield path, value


def _put(merged: dict[str, Any], provenance: dict[str, str], path: Path, value: Any, origin: str) -> None:
    """Set ``path`` in ``merged``; a value replaces a section below it, a section a value above it."""
    node = merged
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            provenance.pop(_dotted(path[: depth + 1]), None)
            child = node[part] = {}
        node = child
    old = node.get(path[-1])
    if isinstance(old, dict):
        below = _dotted(path) + "."
        for key in [k for k in provenance if k.startswith(below)]:
            del provenance[key]
    node[path[-1]] = value
    provenance[_dotted(path)] = origin


def merge_layers(layers: Iterable[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge ``layers`` (later wins, key by key): the merged dict and every leaf's origin."""
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for layer in layers:
        for path, value in leaves(layer.data):
            _put(merged, provenance, path, value, layer.origin(_dotted(path)))
    return merged, provenance


def build_layers(
    layers: Sequence[Layer],
    build: Callable[[dict[str, Any]], T],
    *,
    dump: Callable[[T], Mapping[str, Any]] | None = None,
    errors: type[Exception] | tuple[type[Exception], ...] = ValueError,
) -> tuple[T, dict[str, str]]:
    """``build(merged)`` and the provenance; a refusal names the layer and the key that caused it.

    ``build`` raises one of ``errors`` for an unknown or ill-typed key. The culprit is found by
    adding the leaves one at a time, in layer order, until the builder gives the very refusal it
    gave for the whole merge: that leaf brought it (a key that is only valid together with a
    later layer's key, such as a strategy's own keys and the ``strategy.name`` that picks it, is
    not blamed, since the whole merge accepts it). ``dump`` (the built value back to a dict)
    lets an unknown key's message list the valid keys beside it.
    """
    merged, provenance = merge_layers(layers)
    try:
        return build(merged), provenance
    except errors as exc:
        message = str(exc)
    culprit = _culprit(layers, build, errors, message)
    if culprit is None:
        names = ", ".join(layer.name for layer in layers) or "no layer"
        raise LayerError(f"configuration (merged from {names}): {message}") from None
    layer, path = culprit
    key = _dotted(path)
    hint = _unknown_key_hint(merged, path, build, dump, errors)
    named = message if key in message else f"{key}: {message}"
    raise LayerError(f"{layer.describe(key)}: {named}{hint}") from None


def _culprit(
    layers: Sequence[Layer],
    build: Callable[[dict[str, Any]], Any],
    errors: type[Exception] | tuple[type[Exception], ...],
    message: str,
) -> tuple[Layer, Path] | None:
    partial: dict[str, Any] = {}
    scratch: dict[str, str] = {}
    for layer in layers:
        for path, value in leaves(layer.data):
            _put(partial, scratch, path, value, layer.name)
            try:
                build(partial)
            except errors as exc:
                if str(exc) == message:
                    return layer, path
    return None


def _unknown_key_hint(
    merged: dict[str, Any],
    path: Path,
    build: Callable[[dict[str, Any]], T],
    dump: Callable[[T], Mapping[str, Any]] | None,
    errors: type[Exception] | tuple[type[Exception], ...],
) -> str:
    """`` (valid here: a, b)`` when ``path`` is not a key of the config the rest of ``merged`` builds."""
    if dump is None:
        return ""
    without, _ = merge_layers([Layer("rest", merged)])
    node: Any = without
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)
    try:
        tree: Any = dump(build(without))
    except errors:
        return ""
    for part in path[:-1]:
        if not isinstance(tree, Mapping) or part not in tree:
            return ""
        tree = tree[part]
    if not isinstance(tree, Mapping) or path[-1] in tree:
        return ""
    return f" (valid here: {', '.join(sorted(map(str, tree)))})"


def is_secret(path: str) -> bool:
    """Whether a key's value must never be shown: its name holds key, token, secret, webhook or password."""
    name = path.rsplit(".", 1)[-1].lower()
    return any(word in name for word in _SECRET_WORDS)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value) if value == "" or value.strip() != value or ":" in value else value
    return str(value)


def render_tree(tree: Mapping[str, Any], provenance: Mapping[str, str], *, indent: int = 2) -> str:
    """``tree`` as YAML-like lines, each value followed by ``# <origin>`` (``default`` when unset).

    Values of secret keys (:func:`is_secret`) are shown as ``****`` whatever their layer.
    """
    rows: list[tuple[str, str]] = []

    def walk(node: Mapping[str, Any], prefix: Path) -> None:
        for key, value in node.items():
            path = (*prefix, str(key))
            pad = " " * (indent * len(prefix))
            if isinstance(value, Mapping) and value:
                rows.append((f"{pad}{key}:", ""))
                walk(value, path)
                continue
            dotted = _dotted(path)
            shown = MASK if is_secret(dotted) and value not in (None, "") else _show(value)
            rows.append((f"{pad}{key}: {shown}", provenance.get(dotted, DEFAULT)))

    walk(tree, ())
    width = max((len(text) for text, origin in rows if origin), default=0)
    return "\n".join(f"{text:<{width}}  # {origin}" if origin else text for text, origin in rows) + "\n"

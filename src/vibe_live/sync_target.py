"""Where the database's copies go: an fsspec URL, the copies' names, listing and pruning them.

A copy is named ``{stem}-{YYYYmmddTHHMMSS.mmm}Z.db`` (``stem``: the store file's name without
``.db``), so names sort by time and two stores syncing to one URL keep apart. ``file://`` (or a
plain path) is always there; ``s3://`` needs s3fs (extra ``sync-s3``; ``sync.endpoint_url`` for
Oracle Object Storage, MinIO and other S3-compatible stores), ``gs://`` gcsfs (``sync-gcs``),
``az://`` adlfs (``sync-azure``). Credentials come from the environment only (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_CONNECTION_STRING``,
...), never from a config file. All calls here block: run them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import attrs
import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = ["COPY_NAME", "SyncError", "Target", "copy_name", "open_target"]

COPY_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}T\d{6}\.\d{3})Z\.db$")
_EXTRAS = {"s3": "sync-s3", "s3a": "sync-s3", "gs": "sync-gcs", "gcs": "sync-gcs", "az": "sync-azure"}
_EXTRAS |= {"abfs": "sync-azure", "abfss": "sync-azure"}


class SyncError(Exception):
    """A copy cannot be made, sent, found or restored: the message names the URL and the cause."""


def copy_name(stem: str, when: dt.datetime) -> str:
    """The name of the copy of store ``stem`` taken at ``when`` (UTC): sorts by time."""
    when = when.astimezone(dt.UTC)
    return f"{stem}-{when:%Y%m%dT%H%M%S}.{when.microsecond // 1000:03d}Z.db"


def storage_options(url: str, endpoint_url: str = "", *, timeout_s: float = 60.0) -> dict[str, Any]:
    """The fsspec options of ``url``: an S3 endpoint and bounded timeouts and retries for s3fs."""
    protocol = fsspec.utils.get_protocol(url)
    if protocol not in ("s3", "s3a"):
        return {}
    options: dict[str, Any] = {
        "config_kwargs": {
            "connect_timeout": min(10.0, timeout_s),
            "read_timeout": timeout_s,
            "retries": {"max_attempts": 1, "mode": "standard"},  # s3fs and the sync retry
        }
    }
    if endpoint_url:  # S3-compatible stores (Oracle Object Storage, MinIO) want path-style addresses
        options["endpoint_url"] = endpoint_url
        options["config_kwargs"]["s3"] = {"addressing_style": "path"}
    return options


def open_target(url: str, endpoint_url: str = "", *, timeout_s: float = 60.0) -> Target:
    """The target at ``url``; a missing backend is a :class:`SyncError` naming the extra to install."""
    if not url:
        raise SyncError("sync.url is empty: give a file://, s3://, gs:// or az:// URL")
    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options(url, endpoint_url, timeout_s=timeout_s))
    except ImportError as exc:
        protocol = fsspec.utils.get_protocol(url)
        extra = _EXTRAS.get(protocol)
        hint = f"; pip install 'vibe-trading[{extra}]'" if extra else ""
        raise SyncError(f"{url}: no fsspec backend for {protocol}:// ({exc}){hint}") from None
    except (ValueError, TypeError) as exc:
        raise SyncError(f"{url}: not a usable fsspec URL: {exc}") from None
    if isinstance(getattr(fs, "retries", None), int):
        fs.retries = 2  # s3fs retries 5 times inside each call; the sync's own retries back off longer
    return Target(url=url, fs=fs, root=root.rstrip("/"))


@attrs.frozen
class Target:
    """A folder of copies behind an fsspec file system."""

    url: str
    fs: Any
    root: str

    @property
    def local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}" if self.root else name

    def put(self, local: Path, name: str) -> None:
        """Upload ``local`` as ``name``; on a local disk through a temporary name and a rename, so a
        reader never sees half a copy (an object store's PUT is whole or absent already)."""
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)
            part = self.path(f".{name}.{uuid.uuid4().hex[:8]}.part")
            self.fs.put_file(str(local), part)
            self.fs.mv(part, self.path(name))
        else:
            self.fs.put_file(str(local), self.path(name))

    def get(self, name: str, local: Path) -> None:
        self.fs.get_file(self.path(name), str(local))

    def copies(self, stem: str | None = None) -> list[str]:
        """The copies' names (of store ``stem``, or of all), oldest first; none when the folder is absent."""
        try:
            listed = self.fs.ls(self.root, detail=False, refresh=True)
        except FileNotFoundError:
            return []
        names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in listed]
        found = [(m["stamp"], n) for n in names if (m := COPY_NAME.match(n)) and stem in (None, m["stem"])]
        return [n for _, n in sorted(found)]

    def prune(self, stem: str, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` copies of ``stem``; returns the names deleted."""
        old = self.copies(stem)[:-keep]
        for name in old:
            self.fs.rm_file(self.path(name))
        return old

    def probe(self) -> str:
        """Write and delete a small file (``vibe-live doctor``); returns the name used."""
        name = f".vibe-doctor-probe-{uuid.uuid4().hex[:12]}"
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)
        self.fs.pipe_file(self.path(name), b"vibe doctor probe\n")
        self.fs.rm_file(self.path(name))
        return name

"""``vibe-live doctor``: check a deployment before it runs, one line per check.

Checks, in order: ``config`` (the layers load), ``db`` (the store's folder is writable; an existing
file is a vibe store this vibe can open), ``api`` (auth on needs a key; an API bound beyond this
machine needs auth), ``finnhub`` (a key is set and the WebSocket handshake at ``data.finnhub_url``
answers: 401 means the key is refused), ``discord`` (the webhook answers a GET with its JSON, as
Discord's API does for a webhook URL), ``sync`` (a probe file is written and deleted at
``sync.url``), ``clock`` (this machine's time, New York's, the next NYSE open from the project's
calendar, and the skew against the ``Date`` of an HTTP answer when one came: offline, it reports).
Each line is ``OK``, ``FAIL`` or ``SKIP`` with a detail; the exit code is 1 when any failed.
Secrets are never printed.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import fcntl
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs

from vibe_live.settings import Settings
from vibe_live.store_schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = ["CHECKS", "Check", "Doctor", "format_checks", "run_doctor"]

Verdict = Literal["OK", "FAIL", "SKIP"]
CHECKS = ("config", "db", "api", "finnhub", "discord", "sync", "clock")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_SKEW_S = 5.0  #: an HTTP Date has whole seconds; more than this is a clock to fix


@attrs.frozen
class Check:
    name: str
    verdict: Verdict
    detail: str


def format_checks(checks: Sequence[Check]) -> str:
    lines = [f"{c.verdict:<5} {c.name:<8} {c.detail}" for c in checks]
    failed = sum(c.verdict == "FAIL" for c in checks)
    lines.append(
        f"doctor: {failed} of {len(checks)} checks failed" if failed else "doctor: all checks passed"
    )
    return "\n".join(lines) + "\n"


def _safe_url(url: str) -> str:
    """``url`` without its query (a token) or, for a Discord webhook, its token."""
    base = url.split("?", 1)[0]
    if "/webhooks/" in base:
        head, _, rest = base.partition("/webhooks/")
        return f"{head}/webhooks/{rest.split('/', 1)[0]}/***"
    return base


class Doctor:
    """Runs the checks over settings that loaded (``config`` is checked by :func:`run_doctor`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float = 5.0,
        time_url: str | None = None,
        skip: Sequence[str] = (),
    ) -> None:
        self.settings, self.timeout, self.time_url, self.skip = settings, timeout, time_url, set(skip)
        self.dates: list[tuple[str, float]] = []  #: (where, skew in seconds) of the HTTP answers seen

    def run(self) -> list[Check]:
        steps: list[tuple[str, Callable[[], Check]]] = [
            ("db", self.db),
            ("api", self.api),
            ("finnhub", self.finnhub),
            ("discord", self.discord),
            ("sync", self.sync),
            ("clock", self.clock),
        ]
        out = []
        for name, step in steps:
            if name in self.skip:
                out.append(Check(name, "SKIP", "skipped (--skip)"))
                continue
            try:
                out.append(step())
            except Exception as exc:  # a check must report, never crash the doctor
                out.append(Check(name, "FAIL", f"{type(exc).__name__}: {exc}"))
        return out

    def _seen(self, where: str, headers: Any) -> None:
        date = headers.get("date") if headers is not None else None
        if not date:
            return
        try:
            theirs = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        self.dates.append((where, time.time() - theirs))

    # -- the checks ------------------------------------------------------------------------------

    def db(self) -> Check:
        path = Path(self.settings.storage.db)
        if path.is_dir():
            return Check("db", "FAIL", f"{path}: is a directory, not a database file")
        folder = path.parent
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return Check("db", "FAIL", f"{path}: cannot create files in {existing}")
        if folder.exists():
            try:
                with tempfile.NamedTemporaryFile(dir=folder, prefix=".vibe-doctor-"):
                    pass
            except OSError as exc:
                return Check("db", "FAIL", f"{path}: cannot write in {folder}: {exc.strerror}")
        if not path.exists():
            where = folder if folder.exists() else f"{existing} ({folder} will be created)"
            return Check("db", "OK", f"{path}: no store yet (created on the first run); {where} writable")
        what = _describe_store(path)
        if what.startswith("FAIL "):
            return Check("db", "FAIL", f"{path}: {what[5:]}")
        return Check("db", "OK", f"{path}: {what}{_in_use(path)}; {folder} writable")

    def api(self) -> Check:
        api, features = self.settings.api, self.settings.features
        if not features.enable_dashboard_api:
            return Check("api", "SKIP", "features.enable_dashboard_api is off")
        auth = bool(getattr(api, "enable_auth", False))
        where = f"{api.host}:{api.port}"
        if auth and not api.api_key:
            return Check("api", "FAIL", f"{where}: api.enable_auth is on but no key: set VIBE__API__API_KEY")
        if not auth and api.host not in _LOOPBACK:
            return Check(
                "api",
                "FAIL",
                f"{where}: reachable beyond this machine without auth: set api.enable_auth: true and "
                "VIBE__API__API_KEY, or api.host: 127.0.0.1 (and an SSH tunnel)",
            )
        key = "key set" if api.api_key else "no key (controls disabled)"
        return Check("api", "OK", f"{where}, auth {'on' if auth else 'off'}, {key}")

    def finnhub(self) -> Check:
        import anyio

        data = self.settings.data
        if not data.finnhub_api_key:
            return Check(
                "finnhub", "FAIL", "no key: set FINNHUB_API_KEY or VIBE__DATA__FINNHUB_API_KEY (env or .env)"
            )
        verdict, detail = anyio.run(self._handshake, data.finnhub_url, data.finnhub_api_key)
        return Check("finnhub", verdict, detail)

    async def _handshake(self, url: str, key: str) -> tuple[Verdict, str]:
        import anyio
        import httpx
        from httpx_ws import AsyncWebSocketSession, WebSocketUpgradeError, aconnect_ws

        shown = _safe_url(url)
        full = f"{url}{'&' if '?' in url else '?'}token={key}"
        try:
            with anyio.fail_after(self.timeout):
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    ws: AsyncWebSocketSession
                    async with aconnect_ws(full, client, keepalive_ping_interval_seconds=None) as ws:
                        self._seen("finnhub", ws.response.headers if ws.response else None)
        except WebSocketUpgradeError as exc:
            code = exc.response.status_code
            self._seen("finnhub", exc.response.headers)
            if code == 401:
                return (
                    "FAIL",
                    f"{shown}: the key is refused (HTTP 401 at the handshake; a sandbox key is too)",
                )
            return "FAIL", f"{shown}: the handshake was refused (HTTP {code})"
        except TimeoutError:
            return "FAIL", f"{shown}: no answer within {self.timeout:g} s"
        except (httpx.TransportError, OSError) as exc:
            return "FAIL", f"{shown}: cannot connect ({type(exc).__name__}: {exc})"
        except BaseExceptionGroup as group:  # an error raised inside httpx-ws's task group
            first = group.exceptions[0]
            return "FAIL", f"{shown}: {type(first).__name__}: {first}"
        return "OK", f"{shown}: key set; the WebSocket handshake answered (101)"

    def discord(self) -> Check:
        import httpx

        url = self.settings.notifications.discord_webhook_url
        enabled = self.settings.features.enable_notifications
        if not url:
            if enabled:
                return Check(
                    "discord",
                    "FAIL",
                    "features.enable_notifications is on but no webhook: set "
                    "VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL",
                )
            return Check("discord", "SKIP", "no webhook and features.enable_notifications is off")
        shown = _safe_url(url)
        try:
            response = httpx.get(url, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return Check("discord", "FAIL", f"{shown}: cannot connect ({type(exc).__name__}: {exc})")
        self._seen("discord", response.headers)
        if response.status_code in (401, 404):
            return Check(
                "discord",
                "FAIL",
                f"{shown}: HTTP {response.status_code}: the webhook is deleted or its token is wrong; make a "
                "new one (channel settings, Integrations, Webhooks)",
            )
        if response.status_code != 200:
            return Check("discord", "FAIL", f"{shown}: HTTP {response.status_code}")
        try:
            hook = response.json()
        except ValueError:
            return Check("discord", "FAIL", f"{shown}: HTTP 200 but not a webhook's JSON")
        if not isinstance(hook, dict) or "id" not in hook:
            return Check("discord", "FAIL", f"{shown}: HTTP 200 but not a webhook's JSON (no id)")
        state = "on" if enabled else "off (features.enable_notifications)"
        return Check(
            "discord",
            "OK",
            f"{shown}: webhook {hook.get('name')!r} of channel {hook.get('channel_id')} answers; "
            f"notifications {state}",
        )

    def sync(self) -> Check:
        from vibe_live.sync_target import SyncError, open_target

        sync = self.settings.sync
        if not self.settings.features.enable_cloud_sync:
            return Check("sync", "SKIP", "features.enable_cloud_sync is off")
        try:
            target = open_target(sync.url, sync.endpoint_url, timeout_s=self.timeout)
            target.probe()
            stem = Path(self.settings.storage.db).name.removesuffix(".db")
            copies = target.copies(stem)
        except SyncError as exc:
            return Check("sync", "FAIL", str(exc))
        except Exception as exc:
            return Check("sync", "FAIL", f"{sync.url}: cannot write there ({type(exc).__name__}: {exc})")
        latest = f", the latest {copies[-1]}" if copies else ""
        return Check(
            "sync",
            "OK",
            f"{sync.url}: wrote and deleted a probe; {len(copies)} copies of {stem} there{latest}; "
            f"every {sync.every_minutes:g} min, keep {sync.keep}",
        )

    def clock(self) -> Check:
        from vibe_backtest.api import calendar
        from vibe_core.calendar import datetime_to_ns, ns_to_datetime

        if self.time_url:
            self._time_url()
        now = dt.datetime.now(dt.UTC)
        try:
            new_york = now.astimezone(ZoneInfo("America/New_York"))
        except Exception as exc:
            return Check("clock", "FAIL", f"no time zone data for America/New_York ({exc}): install tzdata")
        local = now.astimezone()
        ts = datetime_to_ns(now)
        sessions = calendar()
        current = sessions.session_at(ts)
        upcoming = sessions.next_session(ts)
        if current is not None:
            market = f"NYSE open, closes {ns_to_datetime(current.close):%H:%M %Z}"
        elif upcoming is not None:
            market = f"NYSE closed, next open {ns_to_datetime(upcoming.open):%a %Y-%m-%d %H:%M %Z}"
        else:
            return Check("clock", "FAIL", f"the NYSE calendar has no session after {now:%Y-%m-%d}: upgrade")
        times = f"local {local:%Y-%m-%d %H:%M:%S %Z}, New York {new_york:%H:%M:%S %Z}; {market}"
        if not self.dates:
            return Check("clock", "OK", f"{times}; no HTTP Date to compare with (reported only)")
        where, skew = max(self.dates, key=lambda d: abs(d[1]))
        if abs(skew) > _MAX_SKEW_S:
            return Check(
                "clock",
                "FAIL",
                f"{times}; this clock is {skew:+.1f} s off {where}'s Date: sync it (chrony, timesyncd)",
            )
        return Check("clock", "OK", f"{times}; within {_MAX_SKEW_S:g} s of {where}'s Date ({skew:+.1f} s)")

    def _time_url(self) -> None:
        import httpx

        assert self.time_url is not None
        try:
            response = httpx.head(self.time_url, timeout=self.timeout)
        except httpx.HTTPError:
            return
        self._seen(_safe_url(self.time_url), response.headers)


def _describe_store(path: Path) -> str:
    """What the file at ``path`` is, or ``"FAIL why"``."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            return "FAIL not a SQLite database"
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            app = int(conn.execute("PRAGMA application_id").fetchone()[0])
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            ours = app == APPLICATION_ID
            known = ours and 0 < schema <= SCHEMA_VERSION
            events = conn.execute("SELECT max(seq) FROM events").fetchone()[0] if known else None
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        return f"FAIL cannot read it ({exc})"
    if app != APPLICATION_ID:
        return f"FAIL not a vibe store (application_id {app:#x})" if app or head else "empty file"
    if schema > SCHEMA_VERSION:
        return f"FAIL written by a newer vibe (store schema {schema}, this vibe knows {SCHEMA_VERSION})"
    migrate = f", migrates to {SCHEMA_VERSION} on start" if schema < SCHEMA_VERSION else ""
    return f"vibe store, schema {schema}{migrate}, {events or 0} events"


def _in_use(path: Path) -> str:
    lock = path.with_name(path.name + ".lock")
    if not lock.exists():
        return ""
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return " (in use by a running vibe-live)"
    finally:
        os.close(fd)
    return ""


def run_doctor(
    load: Callable[[], tuple[Settings, str]],
    *,
    timeout: float = 5.0,
    time_url: str | None = None,
    skip: Sequence[str] = (),
) -> list[Check]:
    """Load the settings (the ``config`` check: ``load`` returns them and a line on where from), then
    run the other checks over them."""
    from vibe_core.config import ConfigError

    try:
        settings, where = load()
    except ConfigError as exc:
        rest = [Check(name, "SKIP", "the config did not load") for name in CHECKS[1:]]
        return [Check("config", "FAIL", str(exc)), *rest]
    checks = [Check("config", "OK", where)]
    return checks + Doctor(settings, timeout=timeout, time_url=time_url, skip=skip).run()

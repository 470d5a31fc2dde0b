"""Where many backtests run: Dask distributed (a local cluster or an existing one) or a process pool.

A backend is opened on a loaded market and runs ``fn(market, item)`` for every item, yielding
``(index, value)`` pairs as the tasks finish (not in submission order) behind a tqdm progress
bar. A task that raises yields a :class:`Failure` (its error and traceback) in place of its value;
the other tasks go on. Leaving the iteration early (Ctrl-C included) cancels what is still queued.

The market is read once, by the command, and shipped once to each worker: the pool passes it to
each process's initializer, Dask scatters it to every worker (``Client.scatter(...,
broadcast=True)``), so a task carries only its own small argument. Dask is imported only when the
Dask backend is opened (the ``sweep`` extra installs it).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import logging
import os
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs

__all__ = [
    "Backend",
    "BackendError",
    "Failure",
    "PoolBackend",
    "DaskBackend",
    "open_backend",
    "dask_available",
]

BackendName = Literal["auto", "dask", "pool"]
Task = Callable[[Any, Any], Any]


class BackendError(ValueError):
    """The backend cannot be opened (Dask missing, scheduler unreachable); the message says why."""


@attrs.frozen
class Failure:
    """A task that raised: ``error`` is ``"Type: message"``, ``trace`` the worker's traceback."""

    error: str
    trace: str = ""


def _failure(exc: BaseException) -> Failure:
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Failure(f"{type(exc).__name__}: {exc}", trace)


def _guarded(fn: Task, market: Any, item: Any) -> Any:
    """``fn(market, item)``, or the :class:`Failure` it raised (so a bad cell is a row, not a crash)."""
    try:
        return fn(market, item)
    except Exception as exc:
        return _failure(exc)


class Backend(Protocol):
    name: str
    workers: int

    def map_unordered(self, fn: Task, items: Sequence[Any], *, desc: str) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=None)


# ---------------------------------------------------------------------------------------------
# Process pool

_MARKET: Any = None


def _init_worker(market: Any) -> None:
    global _MARKET
    _MARKET = market


def _pool_task(fn: Task, item: Any) -> Any:
    return _guarded(fn, _MARKET, item)


class PoolBackend:
    """A ``ProcessPoolExecutor`` on this machine; each process gets the market once."""

    name = "pool"

    def __init__(self, market: Any, workers: int) -> None:
        self.workers = workers
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(market,))

    def map_unordered(self, fn: Task, items: Sequence[Any], *, desc: str) -> Iterator[tuple[int, Any]]:
        futures = {self._pool.submit(_pool_task, fn, item): i for i, item in enumerate(items)}
        bar = _progress(len(futures), desc)
        try:
            for future in cf.as_completed(futures):
                exc = future.exception()
                yield futures.pop(future), (future.result() if exc is None else _failure(exc))
                bar.update(1)
        finally:  # Ctrl-C or an early exit: drop what has not started
            for future in futures:
                future.cancel()
            bar.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# Dask distributed


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _prepare_worker() -> bool:
    from vibe_backtest.api import calendar, run_backtest  # noqa: F401

    calendar()
    return True


class DaskBackend:
    """Dask distributed: a ``LocalCluster`` of ``workers`` processes, or the cluster at ``scheduler``.

    A local cluster has one thread per worker process (a backtest holds the GIL) and no dashboard
    (nothing listens beyond its own loopback ports). On an existing cluster, every worker must be
    able to import vibe (the same version) and any user strategy the grid names.
    """

    name = "dask"

    def __init__(
        self, market: Any, *, workers: int, scheduler: str | None = None, timeout: float = 30
    ) -> None:
        if not dask_available():
            raise BackendError(
                "the Dask backend needs dask[distributed]: pip install 'vibe-trading[sweep]' "
                "(or run with --backend pool)"
            )
        distributed: Any = importlib.import_module("distributed")  # untyped; the sweep extra

        self._cluster: Any = None
        try:
            if scheduler:
                self.client = distributed.Client(scheduler, timeout=timeout)
                self.client.wait_for_workers(1, timeout=timeout)  # scatter needs a worker to hold the market
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # no dashboard; its HTTP server (health, metrics) on a free port, not 8787
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
                self.client = distributed.Client(self._cluster)
        except (OSError, TimeoutError) as exc:  # unreachable scheduler, or a cluster with no worker
            self.close()
            where = f"--scheduler {scheduler}" if scheduler else "the local Dask cluster"
            reason = f"cannot connect, or no worker joined in {timeout:g} s: {exc}"
            raise BackendError(f"{where}: {reason}") from None
        self.workers = len(self.client.scheduler_info().get("workers", {})) or workers
        self._run = uuid.uuid4().hex[:8]  # task keys of this run, unique on a shared cluster
        self._prepare_workers()
        self._market = self.client.scatter([market], broadcast=True, hash=False)[0]

    def _prepare_workers(self) -> None:
        """Import the backtester and read the session calendar on every worker, once, up front:
        a worker that cannot (vibe not installed there) is named now, not by every task."""
        results = self.client.run(_prepare_worker, on_error="return")
        broken = {w: r for w, r in results.items() if isinstance(r, BaseException)}
        if broken:
            self.close()
            worker, exc = next(iter(sorted(broken.items())))
            raise BackendError(f"Dask worker {worker} cannot run vibe backtests: {type(exc).__name__}: {exc}")

    def map_unordered(self, fn: Task, items: Sequence[Any], *, desc: str) -> Iterator[tuple[int, Any]]:
        as_completed: Any = importlib.import_module("distributed").as_completed

        futures = {
            self.client.submit(_guarded, fn, self._market, item, key=f"{desc}-{self._run}-{i}", pure=False): i
            for i, item in enumerate(items)
        }
        bar = _progress(len(futures), desc)
        try:
            for future in as_completed(list(futures)):
                index = futures.pop(future)
                # a worker lost over and over (killed, out of memory) errs the task: a failed row too
                value = _failure(future.exception()) if future.status == "error" else future.result()
                future.release()
                yield index, value
                bar.update(1)
        finally:  # Ctrl-C or an early exit: cancel the queued and running tasks on the cluster
            if futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(futures))
            bar.close()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()

    def close(self) -> None:
        market, client = getattr(self, "_market", None), getattr(self, "client", None)
        with contextlib.suppress(Exception):
            if market is not None:
                market.release()
        with contextlib.suppress(Exception):
            if client is not None:
                client.close()
        self._close_cluster()


def _workers(workers: int | None, tasks: int) -> int:
    return max(1, min(workers or os.cpu_count() or 1, max(tasks, 1)))


@contextlib.contextmanager
def open_backend(
    market: Mapping[str, Any],
    *,
    backend: BackendName = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    tasks: int = 1,
) -> Iterator[Backend]:
    """The backend to run ``tasks`` tasks on ``market``, closed (cluster included) on leaving.

    ``auto``: Dask when installed, else the pool. ``scheduler`` (an address ``tcp://host:port``)
    means an existing Dask cluster; ``workers`` then is ignored.
    """
    if scheduler and backend == "pool":
        raise BackendError("--scheduler needs the Dask backend, not --backend pool")
    use_dask = backend == "dask" or bool(scheduler) or (backend == "auto" and dask_available())
    opened: Backend
    if use_dask:
        opened = DaskBackend(market, workers=_workers(workers, tasks), scheduler=scheduler)
    else:
        opened = PoolBackend(market, _workers(workers, tasks))
    try:
        yield opened
    finally:
        opened.close()

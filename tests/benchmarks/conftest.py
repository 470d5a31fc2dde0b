"""The benchmark scripts as modules (they live outside the package, in ``benchmarks/``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks"


def load_bench(name: str) -> ModuleType:
    """``benchmarks/{name}.py``, imported under ``name`` (its sibling imports find it there)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bp() -> ModuleType:
    return load_bench("bench_peers")


@pytest.fixture(scope="module")
def bf(bp: ModuleType) -> ModuleType:
    return load_bench("bench_floor")  # (after bench_peers, which it imports)

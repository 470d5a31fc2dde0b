"""Shared fixtures: the NYSE session table is built once per test run (exchange-calendars is slow)."""

from __future__ import annotations

import pytest

from vibe_core.calendar import SessionTable, nyse_sessions


@pytest.fixture(scope="session")
def sessions() -> SessionTable:
    return nyse_sessions("2024-01-01", "2025-12-31")

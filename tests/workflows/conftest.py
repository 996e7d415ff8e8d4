"""Fixtures of the order workflow tests: a fresh time-skipping server and worker per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.workflows.order_harness import Shop, time_skipping_shop


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    async with time_skipping_shop() as floor:
        yield floor

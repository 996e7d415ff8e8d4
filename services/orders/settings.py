"""Settings of the orders service (``DAIKO_`` prefix, shared base)."""

from __future__ import annotations

from functools import lru_cache

from daiko.settings import DaikoSettings


class OrdersSettings(DaikoSettings):
    pass


@lru_cache
def get_orders_settings() -> OrdersSettings:
    return OrdersSettings()

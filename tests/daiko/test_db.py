"""Which database errors are an outage (503, retry) and which are a bug."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from daiko.consumer import is_transient
from daiko.db import database_unavailable


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _dbapi(sqlstate: str, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate), connection_invalidated=invalidated)


def test_a_database_starting_up_after_a_crash_is_unavailable_not_a_bug() -> None:
    assert database_unavailable(_dbapi("57P03"))  # "the database system is starting up"
    assert database_unavailable(_dbapi("08006"))  # connection failure
    assert database_unavailable(_dbapi("XX000", invalidated=True))  # cut off mid-query by a crash
    assert database_unavailable(OperationalError("SELECT 1", {}, Exception("closed")))
    assert database_unavailable(ConnectionRefusedError())


def test_a_constraint_violation_is_not_an_outage() -> None:
    assert not database_unavailable(IntegrityError("INSERT", {}, _DriverError("23505")))
    assert not database_unavailable(ValueError("bad"))


def test_a_lost_serialization_race_is_retried_by_consumers() -> None:
    assert is_transient(_dbapi("40001"))
    assert is_transient(_dbapi("40P01"))
    assert is_transient(_dbapi("57P03"))
    assert not is_transient(IntegrityError("INSERT", {}, _DriverError("23505")))

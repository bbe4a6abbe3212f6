"""Column types that behave the same on SQLite, PostgreSQL and MariaDB/MySQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "MYSQL_DIALECTS",
    "Blob",
    "Id",
    "JSONText",
    "LongText",
    "Name",
    "Number",
    "UTCDateTime",
    "dump_json",
]

MYSQL_DIALECTS = ("mysql", "mariadb")


def _mysql_collation(dialect: Dialect) -> str:
    # MariaDB's utf8mb4_bin ignores trailing spaces ("a" = "a "); its nopad twin does not.
    return "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_bin"


class Name(TypeDecorator[str]):
    """A string compared and sorted by code point everywhere, as Python does."""

    impl = String
    cache_ok = True

    def __init__(self, length: int = 254) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_DIALECTS:
            return dialect.type_descriptor(
                mysql.VARCHAR(self.length, charset="utf8mb4", collation=_mysql_collation(dialect))
            )
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.VARCHAR(self.length, collation="C"))
        return dialect.type_descriptor(String(self.length))


class LongText(TypeDecorator[str]):
    """Text of up to a few megabytes (MySQL's TEXT stops at 64 KiB), compared by code point."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_DIALECTS:
            return dialect.type_descriptor(
                mysql.LONGTEXT(charset="utf8mb4", collation=_mysql_collation(dialect))
            )
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TEXT(collation="C"))
        return dialect.type_descriptor(Text())


Id = BigInteger().with_variant(Integer(), "sqlite")
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), *MYSQL_DIALECTS)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored as naive UTC.

    Microseconds are kept on every backend (MySQL needs ``DATETIME(6)``).
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_DIALECTS:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - SQLite returns datetimes via the type
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Number(TypeDecorator[Decimal]):
    """Exact decimals on PostgreSQL and MariaDB; SQLite has no decimal type and keeps a float.

    Only the index of custom-field values uses it: the exact value is kept in
    the ticket's JSON, so nothing is lost, only SQLite comparisons beyond 15
    significant digits are approximate.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Float())
        return dialect.type_descriptor(Numeric(65 if dialect.name in MYSQL_DIALECTS else 1000, 30))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return float(value) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dump_json(value: Any) -> str:
    """``value`` as the JSON text ticketkit stores: compact, keys sorted, not ASCII-escaped."""
    return _ENCODER.encode(value)


class JSONText(TypeDecorator[Any]):
    """JSON kept as text, so it reads back byte for byte on every backend."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return LongText().load_dialect_impl(dialect)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dump_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        # Most tickets have no tags, fields, watchers or links: skip the parser for those.
        if value == "[]":
            return []
        if value == "{}":
            return {}
        return json.loads(value)

"""Keyset pagination shared by every list: stable under inserts and as fast on the
thousandth page as on the first, which OFFSET is not on 100k rows or 10M events.

A cursor is the sort key of the last row shown, as URL-safe base64 JSON; clients
treat it as opaque and pass it back as ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from shequn.web.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The key in ``cursor``, or None for the first page; a bad cursor is a 422."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("the cursor is not one this server gave out") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise Invalid("the cursor is not one this server gave out")
    if any(not isinstance(k, str | int | float) and k is not None for k in key):
        raise Invalid("the cursor is not one this server gave out")
    return key


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, the cursor of the next page (null on the last),
    and how many items match in all (null where counting would be slow)."""

    items: list[T]
    next_cursor: str | None = Field(default=None)
    total: int | None = Field(default=None)

"""How a feature hooks into ingestion.

The ingest pipeline calls ``load`` once per batch (read the state the batch
needs), then ``step`` for each newly stored event in order, then ``save`` once
(write the state back). ``step`` is where the feature decides: it should call
the feature's pure logic and only record the outcome in the batch's state.
All three run inside the batch's transaction, so state changes, events and
outbox actions commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from shequn.core import Action, StoredEvent

S = TypeVar("S")


class Processor(Protocol[S]):
    name: str

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> S: ...

    def step(self, state: S, event: StoredEvent) -> Iterable[Action]: ...

    def save(self, conn: Connection, state: S) -> None: ...


@dataclass(frozen=True, slots=True)
class _Stateless:
    name: str
    fn: Callable[[StoredEvent], Iterable[Action]]

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> None:
        return None

    def step(self, state: Any, event: StoredEvent) -> Iterable[Action]:
        return self.fn(event)

    def save(self, conn: Connection, state: Any) -> None:
        return None


def stateless(name: str, fn: Callable[[StoredEvent], Iterable[Action]]) -> Processor[None]:
    """Wrap a pure function of one event as a processor that needs no stored state."""
    return _Stateless(name, fn)

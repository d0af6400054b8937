"""How a feature acts on time rather than on events.

A mute-all window opens at 20:00, a lobby member becomes eligible after three days, the
welcomes of newcomers who arrived together go out once the batch closes, a scheduled post
falls due. None of these is caused by a message, so no processor sees them. A ``Ticker`` is
asked, every few seconds, what is due at ``now``; it answers with outbox actions and may
record what it did in the same transaction (the runtime's ``run_ticks`` owns it).

Tickers must be idempotent over repeated calls with the same ``now`` and over a restart: an
action's key names its cause and the moment it fell due, so a tick replayed after a crash
finds the action already queued and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from shequn.features.outbox import Pending


class Ticker(Protocol):
    name: str

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        """The actions due at ``now``. Runs inside a transaction the caller commits
        together with the returned actions' outbox rows."""
        ...

"""Token buckets: how many actions may go out now, and when the next one may.

Pure arithmetic over the time passed in, so the dispatcher runs the same on the
real clock and on a simulated one. A dispatcher owns its adapters' buckets: each
bot account is driven by exactly one dispatcher at a time, so the counts never
need to be shared between processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from shequn.adapters.base import Bucket

#: Rounding slack: a bucket this close to a whole token has it.
_EPSILON = 1e-6


@dataclass(slots=True)
class TokenBucket:
    """A bucket filling at ``spec.rate`` per second up to ``spec.burst`` tokens."""

    spec: Bucket
    tokens: float = 0.0
    at: datetime | None = None

    def _fill(self, now: datetime) -> None:
        if self.at is None:  # a new bucket starts full
            self.tokens, self.at = float(self.spec.burst), now
            return
        elapsed = (now - self.at).total_seconds()
        if elapsed > 0:
            self.tokens = min(float(self.spec.burst), self.tokens + elapsed * self.spec.rate)
            self.at = now

    def wait(self, now: datetime) -> float:
        """Seconds until one token is there (0 when one is there now), rounded up to
        the microsecond that datetimes can express: a wait too small to move the
        clock would otherwise never end."""
        self._fill(now)
        if self.tokens >= 1.0 - _EPSILON:
            return 0.0
        return math.ceil((1.0 - self.tokens) / self.spec.rate * 1e6) / 1e6

    def available(self, now: datetime) -> int:
        self._fill(now)
        return int(self.tokens + _EPSILON)

    def take(self, now: datetime) -> None:
        self._fill(now)
        self.tokens -= 1.0


@dataclass(slots=True)
class Limiter:
    """The buckets one action passes through: its group's, its account's and the
    dispatcher's overall one. An action goes only when all of them have a token."""

    per_group: Bucket | None = None
    per_account: Bucket | None = None
    overall: Bucket | None = None
    _groups: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    _accounts: dict[str, TokenBucket] = field(default_factory=dict)
    _overall: TokenBucket | None = None

    def _chain(
        self, account: str, group: str | None, per_group: Bucket | None, per_account: Bucket | None
    ) -> list[TokenBucket]:
        chain = []
        if group is not None and per_group is not None:
            key = (account, group)
            if key not in self._groups:
                self._groups[key] = TokenBucket(per_group)
            chain.append(self._groups[key])
        if per_account is not None:
            if account not in self._accounts:
                self._accounts[account] = TokenBucket(per_account)
            chain.append(self._accounts[account])
        if self.overall is not None:
            if self._overall is None:
                self._overall = TokenBucket(self.overall)
            chain.append(self._overall)
        return chain

    def try_take(
        self,
        now: datetime,
        account: str,
        group: str | None,
        *,
        per_group: Bucket | None,
        per_account: Bucket | None,
    ) -> float:
        """Take a token from every bucket and return 0, or take none and return how
        many seconds until all of them have one."""
        chain = self._chain(account, group, per_group, per_account)
        wait = max((b.wait(now) for b in chain), default=0.0)
        if wait == 0.0:
            for bucket in chain:
                bucket.take(now)
        return wait

    def account_room(self, now: datetime, account: str, per_account: Bucket | None) -> int | None:
        """How many actions the account (and the overall bucket) could send right now;
        ``None`` when nothing limits it."""
        rooms = []
        if per_account is not None:
            if account not in self._accounts:
                self._accounts[account] = TokenBucket(per_account)
            rooms.append(self._accounts[account].available(now))
        if self.overall is not None:
            if self._overall is None:
                self._overall = TokenBucket(self.overall)
            rooms.append(self._overall.available(now))
        return min(rooms) if rooms else None

    def group_wait(self, now: datetime, account: str, group: str) -> float:
        """Seconds until the group's own bucket has a token (0 when it has one)."""
        bucket = self._groups.get((account, group))
        return 0.0 if bucket is None else bucket.wait(now)

    def account_wait(self, now: datetime, account: str, per_account: Bucket | None) -> float:
        """Seconds until the account and the overall bucket both have a token."""
        waits = [0.0]
        if per_account is not None and account in self._accounts:
            waits.append(self._accounts[account].wait(now))
        if self._overall is not None:
            waits.append(self._overall.wait(now))
        return max(waits)

    def account_refill(self, now: datetime, account: str, per_account: Bucket | None) -> float:
        """Seconds until the account's and the overall bucket are both full."""
        waits = [0.0]
        for bucket in (self._accounts.get(account) if per_account else None, self._overall):
            if bucket is not None:
                bucket._fill(now)
                missing = bucket.spec.burst - bucket.tokens
                waits.append(max(0.0, math.ceil(missing / bucket.spec.rate * 1e6) / 1e6))
        return max(waits)

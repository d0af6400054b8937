"""Local wall-clock times → instants, with the daylight-saving edges decided once.

Operators think in their community's clock ("08:30 every weekday"); the outbox thinks in
UTC instants. Twice a year in zones with daylight saving the two disagree, and every caller
here resolves them the same way:

- a wall time that does not exist (clocks jump 02:00 → 03:00, so 02:30 is skipped) names
  the first valid instant after it: the moment of the jump, which the local clock shows
  as 03:00. The post goes out as soon as the clock has passed its time, not an hour late
  and not never;
- a wall time that happens twice (clocks fall back 02:00 → 01:00, so 01:30 comes twice)
  names the earlier instant, so a daily post runs once that day, not twice.

``resolve`` takes a ``not_before`` instant for callers that move *forward* from a known
instant (a delivery pushed out of quiet hours during the repeated hour must not move back
into the first pass of that hour).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from shequn.kit.timeutil import zone as zone_named


def as_zone(zone: tzinfo | str) -> tzinfo:
    """A zone from its IANA name (``ConfigError`` when unknown) or as given."""
    return zone_named(zone) if isinstance(zone, str) else zone


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; a naive datetime is a programming error, refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware, not naive ({value.isoformat()})")
    return value.astimezone(UTC)


def wall_of(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local wall-clock time of ``instant`` in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def local_date(instant: datetime, zone: tzinfo | str) -> date:
    return instant.astimezone(as_zone(zone)).date()


def _first_after_gap(wall: datetime, zone: tzinfo, low: datetime, high: datetime) -> datetime:
    """The instant the clock jumps over ``wall``: the first instant in (low, high] whose
    local time is past ``wall``. Local time only grows across the jump, so a binary search
    over whole seconds finds it (zone transitions fall on whole seconds)."""
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while lo < hi:
        mid = (lo + hi) // 2
        if wall_of(datetime.fromtimestamp(mid, UTC), zone) > wall:
            hi = mid
        else:
            lo = mid + 1
    return datetime.fromtimestamp(lo, UTC)


def resolve(wall: datetime, zone: tzinfo | str, *, not_before: datetime | None = None) -> datetime:
    """The UTC instant the naive local time ``wall`` names in ``zone`` (see the module's
    docstring for skipped and repeated times). With ``not_before``, a repeated time names
    its first instant at or after it."""
    tz = as_zone(zone)
    wall = wall.replace(tzinfo=None)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return first
    early, late = min(first, second), max(first, second)
    if wall_of(early, tz) == wall and wall_of(late, tz) == wall:
        if not_before is not None and early < not_before <= late:
            return late
        return early
    return _first_after_gap(wall, tz, early, late)


def at_clock(
    day: date, clock: time, zone: tzinfo | str, *, not_before: datetime | None = None
) -> datetime:
    """``resolve`` for a local day and a time of day."""
    return resolve(datetime.combine(day, clock), zone, not_before=not_before)


def start_of_day(day: date, zone: tzinfo | str) -> datetime:
    """The first instant of a local day (midnight, or the jump when midnight is skipped)."""
    return at_clock(day, time(0, 0), zone)

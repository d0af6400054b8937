"""What became of a job's copies, group by group, and the two things an operator may do
about them: send the failed ones again, or take back the ones still waiting.

A delivery row only says what was planned; how it went lives in the outbox row with the
same idempotency key (pending, sent with the platform's message id and link, failed with
the platform's error), so the report reads both and never keeps a second copy of a
status that could drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from shequn.features.broadcast.problems import Problem
from shequn.features.broadcast.store import JobNotFound
from shequn.features.outbox import cancel_keys, retry_keys
from shequn.kit.wording import is_chinese
from shequn.models import BroadcastDelivery, BroadcastJob, Group, OutboxRow, OutboxStatus

_d = BroadcastDelivery.__table__
_o = OutboxRow.__table__
_g = Group.__table__
_j = BroadcastJob.__table__


def _require_job(conn: Connection, community_id: int, job_id: int) -> None:
    found = conn.execute(
        select(_j.c.id).where(_j.c.id == job_id, _j.c.community_id == community_id)
    ).first()
    if found is None:
        raise JobNotFound(f"no job {job_id} in community {community_id}")


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


_FROM_OUTBOX = {
    OutboxStatus.PENDING.value: DeliveryStatus.QUEUED,
    OutboxStatus.IN_FLIGHT.value: DeliveryStatus.QUEUED,
    OutboxStatus.DONE.value: DeliveryStatus.SENT,
    OutboxStatus.FAILED.value: DeliveryStatus.FAILED,
    OutboxStatus.UNCERTAIN.value: DeliveryStatus.FAILED,
    OutboxStatus.CANCELLED.value: DeliveryStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """One recipient's copy of one run. ``reason`` is why it was refused (in the reader's
    language) or the platform's error; ``link`` the sent message where the platform
    gives one; ``outbox_id`` None for a refusal."""

    id: int
    recipient: str
    group_id: int | None
    member_id: int | None
    name: str
    platform: str
    run_at: datetime
    send_at: datetime | None
    status: DeliveryStatus
    reason: str | None
    reason_code: str | None
    next_slot: str | None
    link: str | None
    message_id: str | None
    outbox_id: int | None
    key: str


@dataclass(frozen=True, slots=True)
class Report:
    job_id: int
    deliveries: list[DeliveryLine]

    @property
    def totals(self) -> dict[str, int]:
        """Copies per status, every status present (zero when none), in their order."""
        counts = {s.value: 0 for s in DeliveryStatus}
        for d in self.deliveries:
            counts[d.status.value] += 1
        return counts


def _refusal_text(refusal: Any, lang: str) -> str | None:
    if not isinstance(refusal, dict) or not refusal.get("problems"):
        return None
    zh = is_chinese(lang)
    return "; ".join(
        Problem(p.get("where", ""), p.get("en", ""), p.get("zh-CN", "")).text(
            "zh-CN" if zh else "en"
        )
        for p in refusal["problems"]
    )


def delivery_report(
    conn: Connection, community_id: int, job_id: int, *, lang: str = "en"
) -> Report:
    """Every copy of the job, runs in order and recipients in plan order, with its live
    status from the outbox (``JobNotFound`` for another community's job)."""
    _require_job(conn, community_id, job_id)
    rows = conn.execute(
        select(
            _d,
            _g.c.name.label("group_name"),
            _o.c.id.label("outbox_id"),
            _o.c.status.label("outbox_status"),
            _o.c.result,
            _o.c.last_error,
        )
        .select_from(
            _d.outerjoin(_g, _g.c.id == _d.c.group_id).outerjoin(
                _o, _o.c.idempotency_key == _d.c.outbox_key
            )
        )
        .where(_d.c.job_id == job_id)
        .order_by(_d.c.run_at, _d.c.id)
    ).all()
    lines: list[DeliveryLine] = []
    for r in rows:
        result = r.result if isinstance(r.result, dict) else {}
        if r.reason is not None:
            status = DeliveryStatus.REFUSED
            reason = _refusal_text(r.refusal, lang)
        else:
            status = _FROM_OUTBOX.get(r.outbox_status or "", DeliveryStatus.QUEUED)
            reason = r.last_error if status is DeliveryStatus.FAILED else None
        next_slot = r.refusal.get("next_slot") if isinstance(r.refusal, dict) else None
        lines.append(
            DeliveryLine(
                id=r.id,
                recipient=r.recipient,
                group_id=r.group_id,
                member_id=r.member_id,
                name=r.group_name or r.recipient,
                platform=r.platform,
                run_at=r.run_at,
                send_at=r.send_at,
                status=status,
                reason=reason,
                reason_code=r.reason,
                next_slot=next_slot,
                link=result.get("url"),
                message_id=result.get("platform_id"),
                outbox_id=r.outbox_id,
                key=r.outbox_key,
            )
        )
    return Report(job_id, lines)


def _keys(conn: Connection, job_id: int) -> list[str]:
    return list(
        conn.execute(
            select(_d.c.outbox_key).where(_d.c.job_id == job_id, _d.c.reason.is_(None))
        ).scalars()
    )


def retry_failed(conn: Connection, community_id: int, job_id: int, *, now: datetime) -> int:
    """Send the job's failed (and uncertain) copies again, due now; how many went back."""
    _require_job(conn, community_id, job_id)
    return retry_keys(conn, community_id, _keys(conn, job_id), now=now)


def cancel_pending(conn: Connection, community_id: int, job_id: int, *, now: datetime) -> int:
    """Take the job's copies still waiting off the queue; the job itself keeps running
    (``service.cancel_job`` stops it). How many were cancelled."""
    _require_job(conn, community_id, job_id)
    return cancel_keys(conn, community_id, _keys(conn, job_id), now=now)

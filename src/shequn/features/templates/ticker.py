"""The pool ticker: the capacity watch, the next group's creation, and its template.

Every tick, for each community with a pool:

1. places waiting for a group they asked for learn the outcome of their CREATE_GROUP
   action from the outbox: done — the group the platform made is linked (found by its
   platform id, or created in the directory when the adapter has not reported it yet;
   WeCom, which opens the group later, by its name among the groups that appeared since
   the request); failed — an operator is given the task, once, with the platform's reason;
2. a newly linked group with a template gets it (rules copied, staff invited and given
   their roles and titles back where its platform can), once;
3. ``pool.watch`` decides, and its decisions are written and queued: a warning at the
   threshold, full and open again, and the next group asked for when none has room.

Every write is in the tick's transaction with the actions it queues, and what was done is
recorded on the place (``warned_at``, ``applied_at``, ``note``, the creating place itself),
so a repeated tick finds nothing left to do; keys name the place and the cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, ActionType, Message
from shequn.features.outbox import Pending
from shequn.features.templates.places import PoolPlace, pool_of, seats_of
from shequn.features.templates.pool import (
    CreateNext,
    Decision,
    MarkFull,
    Rearm,
    Reopen,
    Warn,
    watch,
)
from shequn.features.templates.service import Applied, apply_template
from shequn.kit.errors import ShequnError
from shequn.kit.wording import is_chinese
from shequn.models import Community, Group, OutboxRow, OutboxStatus
from shequn.models.templates import PoolGroup, PoolState

_p = PoolGroup.__table__
_g = Group.__table__
_o = OutboxRow.__table__
_community = Community.__table__
#: A join way serves at most five groups (WeCom); other platforms ignore the list.
_CHAT_IDS = 5
_GAVE_UP = frozenset({OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.UNCERTAIN})


def _say(lang: str, zh: str, en: str) -> str:
    return zh if is_chinese(lang) else en


class PoolTicker:
    name = "pool"

    def __init__(
        self,
        *,
        lang: str = "zh-CN",
        capabilities: Mapping[str, frozenset[ActionType]] | None = None,
    ) -> None:
        self.lang = lang
        #: What each platform's adapter can do, where known: a template's titles are not
        #: queued for a platform that has none (Matrix), only to fail there.
        self.capabilities = capabilities or {}

    def tick(self, conn: Connection, now: datetime) -> list[Pending]:
        out: list[Pending] = []
        for community_id in sorted({p.community_id for p in pool_of(conn)}):
            out.extend(self._community(conn, community_id, now))
        return out

    def _community(self, conn: Connection, community_id: int, now: datetime) -> list[Pending]:
        out: list[Action] = []
        for place in pool_of(conn, community_id):
            if place.state is PoolState.CREATING and place.request_key:
                out.extend(self._settle(conn, community_id, place, now))
        for place in pool_of(conn, community_id):
            if place.group_id is not None and place.template_id and place.applied_at is None:
                out.extend(self._apply(conn, community_id, place, now))
        places = pool_of(conn, community_id)
        seats = seats_of(conn, [p.group_id for p in places if p.group_id is not None])
        for decision in watch([p.entry for p in places], seats):
            out.extend(self._decide(conn, community_id, places, decision, now))
        return [Pending(action, community_id) for action in out]

    # -- 1. creation's outcome ----------------------------------------------------------

    def _settle(
        self, conn: Connection, community_id: int, place: PoolPlace, now: datetime
    ) -> list[Action]:
        row = conn.execute(
            select(_o.c.status, _o.c.result, _o.c.last_error).where(
                _o.c.idempotency_key == place.request_key
            )
        ).first()
        if row is None:
            return []
        status = OutboxStatus(row.status)
        if status in _GAVE_UP:
            if place.note is not None:
                return []
            reason = row.last_error or status.value
            _set(conn, place.id, now, note=reason)
            text = _say(
                self.lang,
                f"待办：请在 {place.platform} 上手动创建群“{place.name}”，并把它填入编号为 "
                f"{place.id} 的群池位置（自动创建没有成功：{reason}）。",
                f"To do: create the group “{place.name}” on {place.platform} by hand and fill "
                f"pool place {place.id} with it (creating it automatically failed: {reason}).",
            )
            return [self._notify(place, text, f"create-failed:{status.value}", task=True)]
        if status is not OutboxStatus.DONE:
            return []
        result = row.result or {}
        platform_id, url = result.get("platform_id"), str(result.get("url") or "")
        if platform_id:
            group_id = _ensure_group(conn, community_id, place, str(platform_id), now)
        else:
            group_id = _opened_since(conn, community_id, place)
        if group_id is None:
            if url and not place.join_url:
                _set(conn, place.id, now, join_url=url)
            return []
        _set(
            conn,
            place.id,
            now,
            group_id=group_id,
            state=PoolState.OPEN.value,
            note=None,
            join_url=place.join_url or url,
        )
        text = _say(
            self.lang,
            f"新群“{place.name}”已在 {place.platform} 上创建，并加入了群池。",
            f"The new group “{place.name}” was created on {place.platform} and joined the pool.",
        )
        return [self._notify(place, text, "created")]

    # -- 2. the template ----------------------------------------------------------------

    def _apply(
        self, conn: Connection, community_id: int, place: PoolPlace, now: datetime
    ) -> list[Action]:
        assert place.group_id is not None and place.template_id is not None
        creator = None
        if place.request_key:
            result = conn.execute(
                select(_o.c.result).where(_o.c.idempotency_key == place.request_key)
            ).scalar()
            details = (result or {}).get("details") or {}
            creator = details.get("creator") if isinstance(details, dict) else None
        _set(conn, place.id, now, applied_at=now)
        try:
            applied = apply_template(
                conn,
                community_id,
                place.template_id,
                place.group_id,
                now=now,
                key=f"pool:{place.id}:template:{place.group_id}",
                creator=creator,
            )
        except ShequnError as exc:  # the template no longer reads: say so, once
            applied = Applied(refused=[str(exc)])
        can = self.capabilities.get(place.platform)
        out = [a for a in applied.actions if can is None or a.type in can]
        if applied.refused:
            text = _say(
                self.lang,
                f"把模板用到群“{place.name}”时，这些规则没能复制：" + "；".join(applied.refused),
                f"Applying the template to “{place.name}” left out these rules: "
                + "; ".join(applied.refused),
            )
            out.append(self._notify(place, text, f"template-refused:{place.group_id}"))
        return out

    # -- 3. the watch -------------------------------------------------------------------

    def _decide(
        self,
        conn: Connection,
        community_id: int,
        places: Sequence[PoolPlace],
        decision: Decision,
        now: datetime,
    ) -> list[Action]:
        if isinstance(decision, Warn):
            entry = decision.entry
            _set(conn, entry.id, now, warned_at=now)
            share = round(100 * decision.seats / entry.capacity)
            text = _say(
                self.lang,
                f"群“{entry.name}”已有 {decision.seats} 人，达到容量 {entry.capacity} 的 "
                f"{share}%。",
                f"The group “{entry.name}” has {decision.seats} members, {share}% of its "
                f"capacity of {entry.capacity}.",
            )
            place = next(p for p in places if p.id == entry.id)
            return [self._notify(place, text, f"warn:{now.isoformat()}")]
        if isinstance(decision, Rearm):
            _set(conn, decision.entry.id, now, warned_at=None)
        elif isinstance(decision, MarkFull):
            _set(conn, decision.entry.id, now, state=PoolState.FULL.value)
        elif isinstance(decision, Reopen):
            _set(conn, decision.entry.id, now, state=PoolState.OPEN.value)
        elif isinstance(decision, CreateNext):
            return self._create(conn, community_id, places, decision, now)
        return []

    def _create(
        self,
        conn: Connection,
        community_id: int,
        places: Sequence[PoolPlace],
        decision: CreateNext,
        now: datetime,
    ) -> list[Action]:
        after = decision.after
        place_id = conn.execute(
            insert(_p)
            .values(
                community_id=community_id,
                group_id=None,
                template_id=decision.template_id,
                platform=after.platform,
                name=decision.name,
                capacity=after.capacity,
                warn_ratio=after.warn_ratio,
                position=decision.position,
                state=PoolState.CREATING.value,
                join_url="",
                join_note="",
                requested_at=now,
                created_at=now,
                updated_at=now,
            )
            .returning(_p.c.id)
        ).scalar_one()
        key = f"pool:{place_id}:create"
        _set(conn, place_id, now, request_key=key)
        chat_ids = [
            p.external_id
            for p in places
            if p.platform == after.platform and p.external_id and p.state is not PoolState.RETIRED
        ][-_CHAT_IDS:]
        create = Action(
            ActionType.CREATE_GROUP,
            platform=after.platform,
            name=decision.name,
            params={"chat_ids": chat_ids},
            reason="pool: no group has room",
            key=key,
        )
        place = next(p for p in places if p.id == after.id)
        text = _say(
            self.lang,
            f"群池里的群都满了：已请 {after.platform} 创建新群“{decision.name}”。",
            f"Every group of the pool is full: {after.platform} was asked to create "
            f"“{decision.name}”.",
        )
        return [create, self._notify(place, text, f"asked:{place_id}")]

    def _notify(self, place: PoolPlace, text: str, cause: str, *, task: bool = False) -> Action:
        params: dict[str, object] = {"pool_place": place.id}
        if task:
            params["task"] = "create_group"
        return Action(
            ActionType.NOTIFY_OPERATOR,
            platform=place.platform,
            group=place.external_id,
            message=Message.of(text),
            params=params,
            reason="group pool",
            key=f"pool:{place.id}:{cause}",
        )


def _set(conn: Connection, place_id: int, now: datetime, **values: object) -> None:
    conn.execute(update(_p).where(_p.c.id == place_id).values(**values, updated_at=now))


def _ensure_group(
    conn: Connection, community_id: int, place: PoolPlace, external_id: str, now: datetime
) -> int | None:
    """The group the platform made, added to the directory if its adapter has not reported
    it yet (a concurrent ingest adding it too is harmless: the first one counts). None when
    it turns out to belong to another community, or to another place already."""
    workspace_id = conn.execute(
        select(_community.c.workspace_id).where(_community.c.id == community_id)
    ).scalar_one()
    insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert_(_g)
        .values(
            workspace_id=workspace_id,
            community_id=community_id,
            platform=place.platform,
            external_id=external_id,
            name=place.name,
            status="active",
            next_number=1,
            roster_version=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "platform", "external_id"])
    )
    row = conn.execute(
        select(_g.c.id, _g.c.community_id).where(
            _g.c.workspace_id == workspace_id,
            _g.c.platform == place.platform,
            _g.c.external_id == external_id,
        )
    ).one()
    if row.community_id != community_id or _pooled(conn, row.id):
        return None
    return int(row.id)


def _pooled(conn: Connection, group_id: int) -> bool:
    return conn.execute(select(_p.c.id).where(_p.c.group_id == group_id)).scalar() is not None


def _opened_since(conn: Connection, community_id: int, place: PoolPlace) -> int | None:
    """A group the platform opened by itself after the request (WeCom names each one after
    the join way's base name): the earliest such group no place holds."""
    if place.requested_at is None:
        return None
    pooled = select(_p.c.group_id).where(_p.c.group_id.is_not(None))
    return conn.execute(
        select(_g.c.id)
        .where(
            _g.c.community_id == community_id,
            _g.c.platform == place.platform,
            _g.c.created_at >= place.requested_at,
            func.substr(_g.c.name, 1, len(place.name)) == place.name,
            _g.c.id.not_in(pooled),
        )
        .order_by(_g.c.created_at, _g.c.id)
        .limit(1)
    ).scalar()

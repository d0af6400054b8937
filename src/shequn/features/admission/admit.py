"""Join requests decided by the group's admission rule, inside the ingest batch.

``load`` looks up what the batch's requests need: the invite codes they give (locked on
PostgreSQL, so two processes cannot both spend a code's last use), each applicant's earlier
redemption of that code, their orders and whether they are blacklisted. ``decide`` asks the
pure ``decide`` and remembers what an approval spent; ``save`` writes it back.

An approval that spends a code records where the member came from twice over: the
redemption in ``rule_state`` (``redeemed:<code id>:<platform:user>`` under the deciding
rule), which lets a member who retries with their code in without a second use; and a tag
``source:<source>`` on the member (``member_tag.source`` = ``admission``). The tag is the
answer to "which source did each member come from": it follows the member across platforms
and merges, and the member list already filters by tag. Every decision — approved,
rejected or held — is written to the moderation log with the rule and what matched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, StoredEvent
from shequn.features.admission import RuleError
from shequn.features.admission.checks import (
    AdmissionPolicy,
    InviteCodeCheck,
    PaymentCheck,
    PurchaseCheck,
)
from shequn.features.admission.codes import CodesState, InviteCode, Outcome, Use, normalize_code
from shequn.features.admission.decide import Verdict, decide, hold_unloadable
from shequn.features.admission.join_request import JoinFacts, JoinRequest, Purchase
from shequn.features.admission.store import Loaded, RuleBook, Slot, States, purchases_of, state_key
from shequn.features.rules.kinds import ADMISSION
from shequn.models import BlacklistEntry, Community, MemberTag, ModerationEntry, Tag
from shequn.models import InviteCode as CodeTable

_code = CodeTable.__table__
_black = BlacklistEntry.__table__
_community = Community.__table__
_tag = Tag.__table__
_member_tag = MemberTag.__table__
_log = ModerationEntry.__table__

#: The tag an admitted member gets for the source of their invite code.
SOURCE_TAG = "source:"
#: ``member_tag.source`` of those tags: put there by admission, not by hand.
TAGGED_BY = "admission"


@dataclass(slots=True)
class CodeRow:
    """An invite code row as read for a batch, with the uses the batch has spent."""

    id: int
    group_id: int | None
    code: str
    source: str
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    disabled: bool
    created_at: datetime
    spent: int = 0


@dataclass(frozen=True, slots=True)
class Applicant:
    """One join request of the batch, with the rule that decides it."""

    stored: StoredEvent
    request: JoinRequest
    rule: Loaded


def redeemed_slot(rule_id: int, code_id: int, source: str) -> Slot:
    return (rule_id, state_key("redeemed", code_id, source))


def _uses_codes(policy: Any) -> bool:
    return isinstance(policy, AdmissionPolicy) and any(
        isinstance(c, InviteCodeCheck) for c in policy.checks
    )


def _uses_orders(policy: Any) -> bool:
    return isinstance(policy, AdmissionPolicy) and any(
        isinstance(c, PaymentCheck | PurchaseCheck) for c in policy.checks
    )


@dataclass(slots=True)
class Applicants:
    """What the batch's join requests need, and what their decisions changed."""

    lang: str
    codes: dict[tuple[int, str], CodeRow] = field(default_factory=dict)
    blacklisted: set[int] = field(default_factory=set)
    purchases: dict[int, tuple[Purchase, ...]] = field(default_factory=dict)
    workspaces: dict[int, int] = field(default_factory=dict)
    admission_rules: dict[int, list[int]] = field(default_factory=dict)
    tags: list[tuple[int, int, str]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        conn: Connection,
        applicants: Sequence[Applicant],
        books: dict[int, RuleBook],
        states: States,
        lang: str,
    ) -> Applicants:
        found = cls(lang)
        if not applicants:
            return found
        communities = sorted({a.stored.community_id for a in applicants})
        found.workspaces = dict(
            conn.execute(
                select(_community.c.id, _community.c.workspace_id).where(
                    _community.c.id.in_(communities)
                )
            ).all()
        )
        for cid in communities:
            found.admission_rules[cid] = [r.id for r in books[cid].by_kind.get(ADMISSION, ())]
        typed = sorted(
            {
                (a.stored.community_id, normalize_code(a.request.invite_code))
                for a in applicants
                if _uses_codes(a.rule.logic) and normalize_code(a.request.invite_code)
            }
        )
        for cid in sorted({c for c, _ in typed}):
            texts = [t for c, t in typed if c == cid]
            query = (
                select(_code)
                .where(_code.c.community_id == cid, _code.c.code.in_(texts))
                .order_by(_code.c.id)
                .with_for_update()
            )
            for row in conn.execute(query):
                found.codes[(cid, row.code)] = CodeRow(
                    row.id,
                    row.group_id,
                    row.code,
                    row.source,
                    row.max_uses,
                    row.uses,
                    row.expires_at,
                    row.disabled,
                    row.created_at,
                )
        slots = []
        for a in applicants:
            row = found.codes.get((a.stored.community_id, normalize_code(a.request.invite_code)))
            if row is not None:
                for rule_id in found.admission_rules[a.stored.community_id]:
                    slots.append(redeemed_slot(rule_id, row.id, a.request.source))
        states.read(conn, slots)
        members = sorted({a.stored.member_id for a in applicants if a.stored.member_id})
        if members:
            found.blacklisted = set(
                conn.execute(
                    select(_black.c.member_id).where(_black.c.member_id.in_(members))
                ).scalars()
            )
        buyers = {a.stored.member_id for a in applicants if _uses_orders(a.rule.logic)}
        found.purchases = purchases_of(conn, [m for m in buyers if m is not None])
        return found

    def _codes(self, a: Applicant, states: States) -> CodesState | None:
        """The state of the one code the applicant gave, as ``redeem`` needs it: its uses
        by others only count (so they stand in as anonymous uses, no more than the limit),
        the applicant's own earlier use is the real one."""
        typed = normalize_code(a.request.invite_code)
        row = self.codes.get((a.stored.community_id, typed))
        if row is None or row.group_id not in (None, a.stored.group_id):
            return CodesState()
        source = a.request.source
        own = [
            Use(source, datetime.fromisoformat(entry["at"]))
            for rule_id in self.admission_rules.get(a.stored.community_id, [])
            if (entry := states.get(redeemed_slot(rule_id, row.id, source))) is not None
        ][:1]
        others = max(row.uses - len(own), 0)
        others = 0 if row.max_uses is None else min(others, row.max_uses)
        uses = tuple(Use(f"#{n}", row.created_at) for n in range(others)) + tuple(own)
        try:
            code = InviteCode(
                row.code,
                row.created_at,
                row.expires_at,
                row.max_uses,
                row.source or None,
                row.disabled,
                uses,
            )
        except RuleError:
            return None  # a row edited by hand past what a code can be: "could not be looked up"
        return CodesState((code,))

    def decide(self, a: Applicant, states: States) -> list[Action]:
        """The decision on one request, keyed by its event; what it spent is remembered."""
        stored, request, rule = a.stored, a.request, a.rule
        now = stored.event.occurred_at
        if rule.logic is None:
            assert isinstance(rule.error, RuleError)
            verdict = hold_unloadable(request, rule.error, policy_id=str(rule.id), lang=self.lang)
        else:
            mid = stored.member_id
            bought = self.purchases.get(mid) if mid is not None else None
            facts = JoinFacts(
                # Orders placed after the request are not what it was made with.
                purchases=None if bought is None else tuple(p for p in bought if p.at <= now),
                codes=self._codes(a, states) if _uses_codes(rule.logic) else None,
                blacklisted=mid in self.blacklisted,
            )
            verdict = decide(rule.logic, request, facts, now, lang=self.lang)
            self._spend(a, verdict, states)
        actions = [
            action.with_key(f"admission:{stored.id}:{n}")
            for n, action in enumerate(verdict.actions)
        ]
        self._log(a, verdict, actions)
        return actions

    def _spend(self, a: Applicant, verdict: Verdict, states: States) -> None:
        redemption = verdict.redemption
        if (
            verdict.codes is None
            or redemption is None
            or redemption.outcome is not Outcome.REDEEMED
        ):
            return
        row = self.codes[(a.stored.community_id, normalize_code(a.request.invite_code))]
        row.uses += 1
        row.spent += 1
        states.put(
            redeemed_slot(a.rule.id, row.id, a.request.source),
            {
                "code_id": row.id,
                "code": row.code,
                "source": row.source,
                "member_id": a.stored.member_id,
                "group_id": a.stored.group_id,
                "at": a.stored.event.occurred_at.isoformat(),
            },
        )
        workspace = self.workspaces.get(a.stored.community_id)
        if row.source and a.stored.member_id is not None and workspace is not None:
            self.tags.append((workspace, a.stored.member_id, row.source))

    def _log(self, a: Applicant, verdict: Verdict, actions: Sequence[Action]) -> None:
        """The decision for the moderation log, in the form its other entries take: the
        reason in both languages (JSON text), the queued actions whole with their keys."""
        self.log.append(
            {
                "community_id": a.stored.community_id,
                "group_id": a.stored.group_id,
                "member_id": a.stored.member_id,
                "platform": a.request.platform,
                "user_ref": a.request.user[:255],
                "rule_id": a.rule.id,
                "rule_name": a.rule.stored.name[:120],
                "kind": ADMISSION,
                "matched": verdict.matched,
                "reason": json.dumps(verdict.reason.to_dict(), ensure_ascii=False),
                "actions": [action.to_dict() for action in actions],
                "warning": False,
                "decided_at": a.stored.event.occurred_at,
            }
        )

    def save(self, conn: Connection, now: datetime) -> None:
        spent = [{"row_id": r.id, "spent": r.spent} for r in self.codes.values() if r.spent]
        if spent:
            conn.execute(
                update(_code)
                .where(_code.c.id == bindparam("row_id"))
                .values(uses=_code.c.uses + bindparam("spent")),
                spent,
            )
        if self.tags:
            self._tag(conn, now)
        if self.log:
            conn.execute(insert(_log), self.log)

    def _tag(self, conn: Connection, now: datetime) -> None:
        insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        names = sorted({(ws, f"{SOURCE_TAG}{source}") for ws, _, source in self.tags})
        conn.execute(
            insert_(_tag).on_conflict_do_nothing(index_elements=["workspace_id", "name"]),
            [{"workspace_id": ws, "name": name, "created_at": now} for ws, name in names],
        )
        ids: dict[tuple[int, str], int] = {}
        for ws in sorted({ws for ws, _ in names}):
            wanted = [name for w, name in names if w == ws]
            for tag_id, name in conn.execute(
                select(_tag.c.id, _tag.c.name).where(
                    _tag.c.workspace_id == ws, _tag.c.name.in_(wanted)
                )
            ):
                ids[(ws, name)] = tag_id
        rows = sorted(
            {(member, ids[(ws, f"{SOURCE_TAG}{source}")]) for ws, member, source in self.tags}
        )
        conn.execute(
            insert_(_member_tag).on_conflict_do_nothing(index_elements=["member_id", "tag_id"]),
            [
                {"member_id": m, "tag_id": t, "source": TAGGED_BY, "created_at": now}
                for m, t in rows
            ],
        )

"""What a join request carries, and what the caller knows of the applicant.

The request is read from a JOIN_REQUEST event (QQ's screening answer separated from the
question it repeats; an invite code from the payload or from the invite link's name), and the
applicant's purchases from PURCHASE events. ``JoinFacts`` tells "could not be looked up"
(None) apart from "none on record" (empty), because the checks end differently on each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shequn.core import Event, EventType
from shequn.features.admission import Reader, to_decimal
from shequn.features.admission.codes import CodesState, normalize_code


def _text_of(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


@dataclass(frozen=True, slots=True)
class Purchase:
    """One order of the member's, as a PURCHASE event reported it."""

    order_id: str
    at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    product: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> Purchase | None:
        """The purchase a PURCHASE event records; None for other events and for a purchase
        without an order id (the payload convention requires one)."""
        if event.type is not EventType.PURCHASE:
            return None
        order_id = _text_of(event.payload.get("order_id"))
        if order_id is None:
            return None
        currency = event.payload.get("currency")
        product = event.payload.get("product")
        return cls(
            order_id=order_id,
            at=event.occurred_at,
            amount=to_decimal(event.payload.get("amount")),
            currency=currency.strip().upper() if isinstance(currency, str) else None,
            product=_text_of(product),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "at": self.at.isoformat(),
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "product": self.product,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Purchase:
        read = Reader(data, "purchase")
        values = {
            "order_id": read.text("order_id"),
            "at": read.moment("at", required=True),
            "amount": read.decimal("amount", None),
            "currency": read.text("currency", None),
            "product": read.text("product", None),
        }
        read.raise_if_any()
        return cls(**values)


_QUESTION_PREFIX = re.compile(r"\s*问题\s*[:：]")
_ANSWER_MARK = re.compile(r"答案\s*[:：]")


def screening_answer(text: str) -> str:
    """The applicant's own words in a request comment. QQ writes a screening question and
    its answer as ``问题：…\\n答案：…``: the question's words must not count as the answer's."""
    if _QUESTION_PREFIX.match(text):
        mark = _ANSWER_MARK.search(text)
        if mark is not None:
            return text[mark.end() :].strip()
    return text.strip()


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A request to join ``group``: platform ids, as the event carried them."""

    platform: str
    group: str
    user: str
    request_id: str | None = None
    answer: str = ""
    invite_code: str = ""
    user_name: str | None = None
    sub_type: str | None = None

    @property
    def source(self) -> str:
        """Who redeems an invite code: the applicant, qualified by platform."""
        return f"{self.platform}:{self.user}"

    @classmethod
    def from_event(cls, event: Event) -> JoinRequest | None:
        """The request a JOIN_REQUEST event carries; None for other events, for a request
        without group or applicant, and for OneBot's ``sub_type=invite`` (the bot itself
        invited to a group: not a member asking to join).

        The invite code is the payload's ``invite_code``; failing that, Telegram's
        ``invite_link`` name when it reads as a code, so that operators who name invite links
        after codes get them checked.
        """
        if event.type is not EventType.JOIN_REQUEST or not event.group or not event.actor:
            return None
        payload = event.payload
        sub_type = _text_of(payload.get("sub_type"))
        if sub_type == "invite":
            return None
        answer = payload.get("answer")
        code = payload.get("invite_code")
        if not isinstance(code, str) or not code.strip():
            link = payload.get("invite_link")
            code = link if isinstance(link, str) and _reads_as_code(link) else ""
        return cls(
            platform=event.platform,
            group=event.group,
            user=event.actor,
            request_id=_text_of(payload.get("request_id")),
            answer=answer if isinstance(answer, str) else "",
            invite_code=code,
            user_name=event.actor_name,
            sub_type=sub_type,
        )


def _reads_as_code(text: str) -> bool:
    code = normalize_code(text)
    return 0 < len(code) <= 32 and code.isascii() and code.isalnum()


@dataclass(frozen=True, slots=True)
class JoinFacts:
    """What the caller knows about the applicant. None means "could not be looked up",
    which leaves the checks that need it MISSING; an empty tuple means "none on record"."""

    purchases: tuple[Purchase, ...] | None = None
    codes: CodesState | None = None
    blacklisted: bool = False

"""Membership bookkeeping: join and leave events maintain who is in which group."""

from shequn.features.community.membership.logic import Seat, combine, transition
from shequn.features.community.membership.processor import MembershipProcessor

__all__ = ["MembershipProcessor", "Seat", "combine", "transition"]

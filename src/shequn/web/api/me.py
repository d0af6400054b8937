"""``/api/v1/me``: who the request is signed in as, and what their role allows."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shequn.features.operators.permissions import MATRIX, Permission, Role
from shequn.web.auth import CanView
from shequn.web.errors import ERROR_RESPONSES

router = APIRouter(tags=["me"], responses=ERROR_RESPONSES)


class Me(BaseModel):
    operator_id: int
    username: str
    display_name: str
    role: Role
    locale: str | None
    via: str
    permissions: list[Permission]


@router.get("/me", response_model=Me, summary="The signed-in operator or token")
def me(who: CanView) -> Me:
    return Me(
        operator_id=who.operator_id,
        username=who.username,
        display_name=who.display_name,
        role=Role(who.role),
        locale=who.locale,
        via=who.via,
        permissions=sorted(MATRIX[Role(who.role)]),
    )

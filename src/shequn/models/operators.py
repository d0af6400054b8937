"""Operators (people who use the dashboard), their sessions and API tokens, and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import UTCDateTime


class Operator(Base):
    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[str] = mapped_column(String(16), default="operator")
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OperatorSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored,
    so a leaked database cannot be replayed as a login."""

    __tablename__ = "operator_session"
    __table_args__ = (Index(None, "operator_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    #: The community the dashboard shows; None until the operator picks one.
    community_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A token for scripts. It acts as its creator with its own role (never above theirs)."""

    __tablename__ = "api_token"
    __table_args__ = (Index(None, "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    #: The first characters of the token, shown so an operator can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginAttempt(Base):
    """Every sign-in attempt, so failures can be rate-limited across processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index(None, "username", "at"), Index(None, "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime())

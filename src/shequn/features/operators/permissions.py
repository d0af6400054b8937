"""Roles and the permission matrix: which role may do what, decided in one pure table.

Every route of the dashboard and the API names one permission; nothing else
decides access, so this table is the whole access policy.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW = "view"  # read groups, members, tags, events, imports
    EDIT_MEMBERS = "edit_members"  # notes, tags on members, merge and unmerge
    MANAGE_TAGS = "manage_tags"  # create, change and delete tags
    IMPORT = "import"  # upload history exports
    VIEW_AUDIT = "view_audit"
    MANAGE_SETTINGS = "manage_settings"  # the community's time zone and name
    MANAGE_OPERATORS = "manage_operators"
    MANAGE_TOKENS = "manage_tokens"
    MANAGE_RULES = "manage_rules"  # group rules, templates, invite codes and the group pool
    MODERATE = "moderate"  # undo moderation decisions, keep the blacklist
    BROADCAST = "broadcast"  # compose, schedule, send and cancel posts


#: Rank for "not above": an admin manages operators and viewers, never an owner.
RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}

_EVERYTHING = frozenset(Permission)
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING,
    Role.OPERATOR: frozenset(
        {
            Permission.VIEW,
            Permission.EDIT_MEMBERS,
            Permission.MANAGE_TAGS,
            Permission.IMPORT,
            Permission.MANAGE_RULES,
            Permission.MODERATE,
            Permission.BROADCAST,
        }
    ),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


def allows(role: str, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission``; an unknown role may do nothing."""
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:
        return False


def may_grant(actor: str, role: str) -> bool:
    """Whether ``actor`` may give someone ``role`` (or change someone who has it): only
    up to their own rank, so an admin can never make or unmake an owner."""
    try:
        return RANK[Role(role)] <= RANK[Role(actor)] and (
            Role(actor) is Role.OWNER or Role(role) is not Role.OWNER
        )
    except ValueError:
        return False

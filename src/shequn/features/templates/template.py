"""A group template: what a new group starts with, and how it is applied. Pure.

Taken from a group that works (``snapshot``): the rules that group has of its own (its
per-group overrides of every kind, its welcome among them — community-wide rules already
reach every group, so copying them would only double them), its staff (admins, owners and
members with a title, by platform account) and the schedules of its regular posts, kept
as written until broadcasting reads them.

Applied to a new group (``plan``): each rule is copied with the new group as its scope,
unless the group has one of that kind and name already (or, for the kinds a group has one
of, any of that kind), so applying twice, or to a group an operator set up by hand, never
doubles or overwrites a rule. Staff on the new group's platform are invited and given
their role and title back. Owners come back as admins: the account that creates a group
owns it, and no platform lets a bot hand ownership around.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shequn.core import Action, ActionType
from shequn.kit.errors import RuleError
from shequn.kit.wording import is_chinese

#: Roles a template gives back; ``owner`` is read as admin (see the module's docstring).
ROLES = ("admin", "member")
MAX_RULES = 200
MAX_ROLES = 100
MAX_SCHEDULES = 50
MAX_NAME = 120
MAX_KIND = 24
MAX_USER = 255
MAX_TITLE = 64


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template, in both languages an operator may read."""

    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if is_chinese(lang) else self.en


class TemplateError(RuleError):
    """A template that cannot be saved or applied; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.en for p in self.problems))


@dataclass(frozen=True, slots=True)
class RuleCopy:
    """A rule as a template keeps it: what ``features.rules`` stores, minus its scope."""

    kind: str
    name: str
    config: Mapping[str, Any]
    enabled: bool = True
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "enabled": self.enabled,
            "position": self.position,
            "config": dict(self.config),
        }


@dataclass(frozen=True, slots=True)
class StaffSeat:
    """Someone who helps run the group: their account, role and title there."""

    platform: str
    user: str
    role: str = "admin"
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "user": self.user,
            "role": self.role,
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class Template:
    rules: tuple[RuleCopy, ...] = ()
    roles: tuple[StaffSeat, ...] = ()
    schedules: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "roles": [r.to_dict() for r in self.roles],
            "schedules": [dict(s) for s in self.schedules],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Template:
        """Read a stored or submitted template; raises ``TemplateError`` naming every
        problem. The rules' own settings are checked by their families (the service)."""
        problems: list[Problem] = []
        if not isinstance(data, Mapping):
            raise TemplateError([Problem("a template must be an object", "模板必须是一个对象")])
        unknown = sorted(set(data) - {"rules", "roles", "schedules"})
        if unknown:
            problems.append(
                Problem(f"unknown fields: {', '.join(unknown)}", f"未知字段：{'、'.join(unknown)}")
            )
        rules = _read_list(data, "rules", MAX_RULES, _read_rule, problems)
        roles = _read_list(data, "roles", MAX_ROLES, _read_role, problems)
        schedules = _read_list(data, "schedules", MAX_SCHEDULES, _read_schedule, problems)
        twice = Counter((r.kind, r.name) for r in rules)
        for kind, name in sorted(k for k, n in twice.items() if n > 1):
            problems.append(
                Problem(
                    f"rules: {kind} rule {name!r} appears twice",
                    f"规则：{kind} 规则“{name}”出现了两次",
                )
            )
        seated = Counter((r.platform, r.user) for r in roles)
        for platform, user in sorted(k for k, n in seated.items() if n > 1):
            problems.append(
                Problem(
                    f"roles: {platform} {user} appears twice", f"角色：{platform} {user} 出现了两次"
                )
            )
        if problems:
            raise TemplateError(problems)
        return cls(tuple(rules), tuple(roles), tuple(schedules))


def _read_list(
    data: Mapping[str, Any],
    key: str,
    limit: int,
    read: Callable[[Mapping[str, Any], str, list[Problem]], Any],
    problems: list[Problem],
) -> list[Any]:
    items = data.get(key, [])
    if not isinstance(items, list):
        problems.append(Problem(f"{key} must be a list", f"{key} 必须是列表"))
        return []
    if len(items) > limit:
        problems.append(
            Problem(
                f"{key}: at most {limit}, not {len(items)}",
                f"{key}：最多 {limit} 项，现有 {len(items)} 项",
            )
        )
        return []
    out = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(f"{where} must be an object", f"{where} 必须是对象"))
            continue
        found = read(item, where, problems)
        if found is not None:
            out.append(found)
    return out


def _text(
    item: Mapping[str, Any],
    key: str,
    where: str,
    limit: int,
    problems: list[Problem],
    *,
    required: bool = True,
) -> str | None:
    value = item.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        problems.append(
            Problem(
                f"{where}.{key} must be text of 1 to {limit} characters"
                if required
                else f"{where}.{key} must be text of at most {limit} characters",
                f"{where}.{key} 必须是 1 到 {limit} 个字符的文本"
                if required
                else f"{where}.{key} 必须是不超过 {limit} 个字符的文本",
            )
        )
        return None
    return value


def _read_rule(item: Mapping[str, Any], where: str, problems: list[Problem]) -> RuleCopy | None:
    before = len(problems)
    kind = _text(item, "kind", where, MAX_KIND, problems)
    name = _text(item, "name", where, MAX_NAME, problems)
    enabled, position, config = (
        item.get("enabled", True),
        item.get("position", 0),
        item.get("config"),
    )
    if not isinstance(enabled, bool):
        problems.append(
            Problem(
                f"{where}.enabled must be true or false", f"{where}.enabled 必须是 true 或 false"
            )
        )
    if not isinstance(position, int) or isinstance(position, bool):
        problems.append(
            Problem(f"{where}.position must be a whole number", f"{where}.position 必须是整数")
        )
    if not isinstance(config, Mapping):
        problems.append(Problem(f"{where}.config must be an object", f"{where}.config 必须是对象"))
    if len(problems) > before:
        return None
    assert kind is not None and name is not None and isinstance(config, Mapping)
    return RuleCopy(kind, name, dict(config), enabled, position)


def _read_role(item: Mapping[str, Any], where: str, problems: list[Problem]) -> StaffSeat | None:
    before = len(problems)
    platform = _text(item, "platform", where, 32, problems)
    user = _text(item, "user", where, MAX_USER, problems)
    title = _text(item, "title", where, MAX_TITLE, problems, required=False)
    role = item.get("role", "admin")
    if role not in ROLES:
        problems.append(
            Problem(
                f"{where}.role must be admin or member, not {role!r}",
                f"{where}.role 只能是 admin 或 member",
            )
        )
    if len(problems) > before:
        return None
    assert platform is not None and user is not None and title is not None
    return StaffSeat(platform, user, str(role), title)


def _read_schedule(
    item: Mapping[str, Any], where: str, problems: list[Problem]
) -> Mapping[str, Any] | None:
    if _text(item, "name", where, MAX_NAME, problems) is None:
        return None
    return dict(item)


def snapshot(
    rules: Iterable[RuleCopy],
    seats: Iterable[StaffSeat],
    schedules: Sequence[Mapping[str, Any]] = (),
) -> Template:
    """The template of a group from its own rules and seats: staff only (admins, owners,
    anyone with a title), owners as admins, in a stable order."""
    staff = []
    for seat in seats:
        role = "admin" if seat.role in ("owner", "admin") else "member"
        if role == "member" and not seat.title:
            continue
        staff.append(StaffSeat(seat.platform, seat.user, role, seat.title or ""))
    return Template(
        rules=tuple(sorted(rules, key=lambda r: (r.position, r.kind, r.name))),
        roles=tuple(sorted(staff, key=lambda s: (s.platform, s.user))),
        schedules=tuple(dict(s) for s in schedules),
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying a template to one group does."""

    copy: tuple[RuleCopy, ...] = ()
    #: Rules the group has already (by kind and name, or by kind for one-per-group kinds).
    skipped: tuple[RuleCopy, ...] = ()
    actions: tuple[Action, ...] = ()
    schedules: tuple[Mapping[str, Any], ...] = field(default=())


def plan(
    template: Template,
    *,
    platform: str,
    group: str,
    key: str,
    existing: Collection[tuple[str, str]] = (),
    one_per_group: Collection[str] = (),
    creator: str | None = None,
) -> Plan:
    """How to give the group ``group`` (platform id) on ``platform`` the template.

    ``existing`` holds the (kind, name) of the group's own rules; ``one_per_group`` the
    kinds a group may have one of; ``creator`` the account that made the group (it is in
    the group already and needs no invitation). Actions' keys start with ``key``.
    """
    kinds = {kind for kind, _ in existing}
    copy, skipped = [], []
    for rule in template.rules:
        taken = (rule.kind, rule.name) in existing or (
            rule.kind in one_per_group and rule.kind in kinds
        )
        (skipped if taken else copy).append(rule)
        if not taken:
            kinds.add(rule.kind)
    actions: list[Action] = []
    for index, seat in enumerate(template.roles):
        if seat.platform != platform or seat.user == creator:
            continue
        target = {"platform": platform, "group": group, "user": seat.user}
        why = "group template: staff of the groups it was taken from"
        actions.append(Action(ActionType.INVITE, **target, reason=why, key=f"{key}:{index}:invite"))
        if seat.role == "admin":
            actions.append(
                Action(
                    ActionType.SET_ROLE,
                    **target,
                    params={"role": "admin"},
                    reason=why,
                    key=f"{key}:{index}:role",
                )
            )
        if seat.title:
            actions.append(
                Action(
                    ActionType.SET_TITLE,
                    **target,
                    params={"title": seat.title},
                    reason=why,
                    key=f"{key}:{index}:title",
                )
            )
    return Plan(tuple(copy), tuple(skipped), tuple(actions), template.schedules)

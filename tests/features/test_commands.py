"""Chat commands: what a typed ``/mute @x 10m`` means, who may run it, and what it does.

Operators moderate from the chat itself, so these rules decide who gets muted, kicked
or banned: parsing is pinned verb by verb and duration by duration, the permission
matrix is checked in full, and hostile text must never crash the parser or be anything
but data in the actions it produces.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import event
from shequn.core import (
    Action,
    ActionType,
    Event,
    EventType,
    Face,
    File,
    Image,
    Link,
    Media,
    Mention,
    Message,
    Poll,
    Quote,
    Role,
    Segment,
    Sticker,
    Text,
)
from shequn.features.commands.logic import (
    ALIASES,
    MAX_MUTE,
    Command,
    CommandDenied,
    CommandError,
    Verb,
    authorize,
    format_duration,
    parse,
    parse_duration,
    refusal,
    respond,
    to_actions,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
X = Mention(user="42", name="张三")
TARGETED = [v for v in Verb if v not in (Verb.RULES, Verb.HELP)]


def msg(*parts: Segment | str) -> Message:
    return Message.of(*parts)


def command_event(
    message: Message,
    *,
    actor: str | None = "op",
    group: str | None = "g1",
    message_id: Any = "m100",
) -> Event:
    payload = {} if message_id is None else {"message_id": message_id}
    return event(1, actor=actor, group=group, **payload).with_(message=message)


def quotes(mapping: dict[str, str]) -> Any:
    return mapping.get


# --- parsing: verbs, aliases, prefixes ----------------------------------------------------


@pytest.mark.parametrize(("word", "verb"), sorted(ALIASES.items()))
@pytest.mark.parametrize("prefix", ["/", "!", "！"])
def test_every_verb_and_alias_parses_with_every_prefix(word: str, verb: Verb, prefix: str) -> None:
    title = " 班长" if verb is Verb.TITLE else ""
    command = parse(msg(f"{prefix}{word} ", X, title))
    assert command is not None
    assert command.verb is verb
    if verb in TARGETED:
        assert (command.target, command.target_name) == ("42", "张三")
    else:
        assert command == Command(verb)


def test_chinese_aliases_are_the_ones_operators_type() -> None:
    zh = {w: v for w, v in ALIASES.items() if not w.isascii()}
    assert zh == {
        "禁言": Verb.MUTE,
        "解禁": Verb.UNMUTE,
        "警告": Verb.WARN,
        "踢": Verb.KICK,
        "封禁": Verb.BAN,
        "解封": Verb.UNBAN,
        "头衔": Verb.TITLE,
        "群规": Verb.RULES,
        "帮助": Verb.HELP,
    }


@pytest.mark.parametrize(
    "message",
    [
        msg("/MUTE ", X),
        msg("  /Mute ", X),
        msg("/mute", X),
        msg(Quote("m1"), "/mute ", X),
        msg("/", "mute ", X),
    ],
    ids=["upper", "leading-space", "mention-right-after", "after-quote", "split-text"],
)
def test_command_forms_that_still_parse(message: Message) -> None:
    assert parse(message) == Command(Verb.MUTE, "42", "张三", timedelta(minutes=10))


@pytest.mark.parametrize(
    "message",
    [
        msg("/start"),
        msg("/mutes ", X),
        msg("!ping"),
        msg("/ mute ", X),
        msg("/"),
        msg("！"),
        msg("／mute ", X),
        msg("/shutup ", X, " 10m"),
    ],
    ids=["start", "mutes", "ping", "space-after-prefix", "bare", "bare-fw", "fw-slash", "other"],
)
def test_unknown_verbs_are_not_ours(message: Message) -> None:
    assert parse(message) is None


@pytest.mark.parametrize(
    "message",
    [
        msg("禁言 ", X, " 10分钟"),
        msg("大家好 /mute ", X),
        msg(""),
        Message(),
        msg(X, " /mute 10m"),
        msg(Image(url="https://img.example/1.png"), "/mute ", X),
        msg(Quote("m1")),
        msg("今天天气不错！"),
    ],
    ids=[
        "no-prefix",
        "prefix-mid-text",
        "empty-text",
        "empty",
        "mention-first",
        "image-first",
        "only-quote",
        "exclamation-at-end",
    ],
)
def test_plain_messages_are_not_commands(message: Message) -> None:
    assert parse(message) is None


def test_custom_prefixes_replace_the_defaults() -> None:
    assert parse(msg("#mute ", X), prefixes=("#",)) is not None
    assert parse(msg("/mute ", X), prefixes=("#",)) is None
    assert parse(msg("/mute ", X), prefixes=("", "/")) is not None


@pytest.mark.parametrize(
    ("addressed_to", "parsed"),
    [("shequn_bot", True), ("@Shequn_Bot", True), ("other_bot", False), (None, False)],
)
def test_telegram_bot_suffix_is_answered_only_when_it_names_us(
    addressed_to: str | None, parsed: bool
) -> None:
    message = msg("/mute@shequn_bot ", X, " 5m")
    command = parse(message, addressed_to=addressed_to)
    assert (command is not None) is parsed
    if parsed:
        assert command is not None and command.duration == timedelta(minutes=5)


def test_rules_and_help_ignore_what_follows() -> None:
    assert parse(msg("/rules ", X, " 请看")) == Command(Verb.RULES)
    assert parse(msg("！帮助 禁言")) == Command(Verb.HELP)


# --- parsing: targets ----------------------------------------------------------------------


def test_reply_targets_the_quoted_author() -> None:
    command = parse(msg(Quote("m5"), "/mute 1h"), resolve_quote=quotes({"m5": "u9"}))
    assert command == Command(Verb.MUTE, "u9", None, timedelta(hours=1))


def test_quote_later_in_the_message_also_targets() -> None:
    command = parse(msg("/kick 广告", Quote("m5")), resolve_quote=quotes({"m5": "u9"}))
    assert command == Command(Verb.KICK, "u9", None, text="广告")


def test_the_first_quote_counts() -> None:
    resolve = quotes({"m5": "u9", "m6": "u8"})
    command = parse(msg(Quote("m5"), "/kick", Quote("m6")), resolve_quote=resolve)
    assert command is not None and command.target == "u9"


def test_a_mention_beats_the_quote() -> None:
    command = parse(msg(Quote("m5"), "/warn ", X, " 刷屏"), resolve_quote=quotes({"m5": "u9"}))
    assert command is not None and command.target == "42"


@pytest.mark.parametrize("resolver", [None, quotes({})], ids=["no-resolver", "unknown-message"])
def test_an_unresolvable_quote_is_an_error_not_a_guess(resolver: Any) -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg(Quote("m5"), "/mute 10m"), resolve_quote=resolver)
    assert "replied to" in str(caught.value)
    assert "被回复消息" in caught.value.text("zh-CN")


@pytest.mark.parametrize("verb", TARGETED)
def test_a_missing_target_is_an_error_with_the_usage(verb: Verb) -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg(f"/{verb.value} 10m 理由"))
    error = caught.value
    assert error.verb is verb
    assert f"Usage: /{verb.value} @member" in error.text("en")
    assert "用法：/" in error.text("zh-CN") and "@成员" in error.text("zh-CN")


def test_at_everyone_is_not_a_target() -> None:
    with pytest.raises(CommandError, match="Say whom"):
        parse(msg("/kick ", Mention(everyone=True)))


def test_a_mention_without_an_account_id_is_refused() -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg("/ban ", Mention(name="lurker")))
    assert "@lurker" in str(caught.value)
    assert "无法确定 @lurker" in caught.value.text("zh")


def test_only_the_first_mention_is_the_target_the_rest_stay_in_the_reason() -> None:
    y = Mention(user="7", name="李四")
    assert parse(msg("/warn ", X, " 和 ", y, " 一起刷屏")) == Command(
        Verb.WARN, "42", "张三", text="和 @李四 一起刷屏"
    )


# --- parsing: durations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("30s", 30),
        ("1h30m", 5400),
        ("30m1h", 5400),
        ("1d2h3m4s", 93784),
        ("10分钟", 600),
        ("10分", 600),
        ("2小时", 7200),
        ("1天", 86400),
        ("1小时30分钟", 5400),
        ("1 小时 30 分钟", 5400),
        ("1 hour 30 minutes", 5400),
        ("2 days", 172800),
        ("10M", 600),
        ("１０分钟", 600),
        ("15", 900),
        ("45 秒", 45),
    ],
)
def test_durations(written: str, seconds: int) -> None:
    command = parse(msg("/mute ", X, f" {written}"))
    assert command is not None
    assert command.duration == timedelta(seconds=seconds)
    assert (command.capped, command.text) == (False, "")
    assert parse_duration(written) == timedelta(seconds=seconds)


def test_mute_defaults_to_ten_minutes() -> None:
    command = parse(msg("/禁言 ", X))
    assert command is not None and command.duration == timedelta(minutes=10)


@pytest.mark.parametrize("written", ["31d", "30d1s", "99999999999999999999999d", "9" * 500])
def test_long_mutes_are_capped_at_thirty_days(written: str) -> None:
    command = parse(msg("/mute ", X, f" {written}"))
    assert command is not None
    assert (command.duration, command.capped) == (MAX_MUTE, True)


def test_exactly_thirty_days_is_not_capped() -> None:
    command = parse(msg("/mute ", X, " 30d"))
    assert command is not None and (command.duration, command.capped) == (MAX_MUTE, False)


@pytest.mark.parametrize(
    ("written", "problem", "zh_problem"),
    [
        ("0m", "is zero", "为零"),
        ("0", "is zero", "为零"),
        ("0分钟", "is zero", "为零"),
        ("-5m", "negative", "负数"),
        ("−5m", "negative", "负数"),
        ("abc", "not a duration", "不是有效的时长"),
        ("10x", "not a duration", "不是有效的时长"),
        ("1.5h", "not a duration", "不是有效的时长"),
        ("10ms", "not a duration", "不是有效的时长"),
        ("1h1h", "same unit twice", "同一个单位"),
        ("1m2min", "same unit twice", "同一个单位"),
        ("刷屏", "not a duration", "不是有效的时长"),
    ],
)
def test_bad_durations_say_what_is_wrong_and_how_to_write_it(
    written: str, problem: str, zh_problem: str
) -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg("/mute ", X, f" {written} 理由"))
    error = caught.value
    assert problem in error.text("en") and "Usage: /mute @member" in error.text("en")
    assert zh_problem in error.text("zh-CN") and "用法：/禁言 @成员" in error.text("zh-CN")
    with pytest.raises(CommandError):
        parse_duration(written)


@pytest.mark.parametrize(
    ("after", "seconds", "reason"),
    [
        (" 10m 刷屏 广告", 600, "刷屏 广告"),
        (" 1 小时 30 分钟 刷屏", 5400, "刷屏"),
        (" 10 刷屏", 600, "刷屏"),
        (" 2h  发广告\n第二次", 7200, "发广告\n第二次"),
    ],
)
def test_mute_reason_follows_the_duration(after: str, seconds: int, reason: str) -> None:
    assert parse(msg("/mute ", X, after)) == Command(
        Verb.MUTE, "42", "张三", timedelta(seconds=seconds), text=reason
    )


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (600, "10 分钟", "10 minutes"),
        (60, "1 分钟", "1 minute"),
        (5400, "1 小时 30 分钟", "1 hour 30 minutes"),
        (86400, "1 天", "1 day"),
        (93784, "1 天 2 小时 3 分钟 4 秒", "1 day 2 hours 3 minutes 4 seconds"),
        (0, "0 秒", "0 seconds"),
    ],
)
def test_durations_print_in_the_operators_language(seconds: int, zh: str, en: str) -> None:
    assert format_duration(timedelta(seconds=seconds), "zh-CN") == zh
    assert format_duration(timedelta(seconds=seconds), "en") == en


# --- parsing: titles and reasons -----------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "title"),
    [
        (" 班长", "班长"),
        ("  三年二班 班长  ", "三年二班 班长"),
        (" " + "字" * 16, "字" * 16),
        (" Team Lead", "Team Lead"),
    ],
)
def test_title_takes_the_rest_of_the_text(after: str, title: str) -> None:
    assert parse(msg("/头衔 ", X, after)) == Command(Verb.TITLE, "42", "张三", text=title)


@pytest.mark.parametrize("after", [" " + "字" * 17, "", "   "], ids=["17", "empty", "blank"])
def test_bad_titles_are_errors(after: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg("/title ", X, after))
    assert "Usage: /title @member" in str(caught.value)
    if after.strip():
        assert "17 characters" in str(caught.value) and "17 个字" in caught.value.text("zh")


@pytest.mark.parametrize(
    ("verb", "word"), [(Verb.WARN, "警告"), (Verb.KICK, "踢"), (Verb.BAN, "封禁")]
)
def test_reasons(verb: Verb, word: str) -> None:
    assert parse(msg(f"/{word} ", X, " 发广告 ")) == Command(verb, "42", "张三", text="发广告")
    assert parse(msg(f"/{word} ", X)) == Command(verb, "42", "张三")


def test_overlong_reasons_are_errors() -> None:
    assert parse(msg("/warn ", X, " " + "广" * 200)) is not None
    with pytest.raises(CommandError, match="201 characters"):
        parse(msg("/warn ", X, " " + "广" * 201))


# --- permission ----------------------------------------------------------------------------

MODERATE = {Verb.MUTE, Verb.UNMUTE, Verb.WARN, Verb.KICK, Verb.TITLE}
EVERYTHING = set(TARGETED)
#: (sender, target) → the targeted verbs allowed; any pair not listed allows none.
ALLOWED: dict[tuple[Role, Role | None], set[Verb]] = {
    (Role.ADMIN, Role.MEMBER): MODERATE,
    (Role.ADMIN, None): MODERATE,
    (Role.OWNER, Role.MEMBER): EVERYTHING,
    (Role.OWNER, None): EVERYTHING,
    (Role.OWNER, Role.ADMIN): EVERYTHING,
}


def _command(verb: Verb) -> Command:
    if verb in TARGETED:
        return Command(
            verb, target="42", duration=timedelta(minutes=10) if verb is Verb.MUTE else None
        )
    return Command(verb)


@pytest.mark.parametrize("verb", list(Verb))
@pytest.mark.parametrize("target", [Role.OWNER, Role.ADMIN, Role.MEMBER, None])
@pytest.mark.parametrize("sender", [Role.OWNER, Role.ADMIN, Role.MEMBER])
def test_permission_matrix(sender: Role, target: Role | None, verb: Verb) -> None:
    command = _command(verb)
    allowed = verb in (Verb.RULES, Verb.HELP) or verb in ALLOWED.get((sender, target), set())
    if allowed:
        authorize(command, sender, target, sender="op")
    else:
        with pytest.raises(CommandDenied) as caught:
            authorize(command, sender, target, sender="op")
        assert caught.value.verb is verb


@pytest.mark.parametrize("verb", TARGETED)
def test_nobody_targets_themselves_not_even_the_owner(verb: Verb) -> None:
    with pytest.raises(CommandDenied) as caught:
        authorize(_command(verb), Role.OWNER, Role.OWNER, sender="42")
    assert "yourself" in str(caught.value)
    assert "不能对自己" in caught.value.text("zh-CN")


@pytest.mark.parametrize(
    ("sender", "target", "verb", "en", "zh"),
    [
        (
            Role.MEMBER,
            Role.MEMBER,
            Verb.MUTE,
            "Only group admins and the owner can use /mute.",
            "只有群主和管理员可以使用 /禁言。",
        ),
        (
            Role.ADMIN,
            Role.MEMBER,
            Verb.BAN,
            "Only the group owner can use /ban.",
            "只有群主可以使用 /封禁。",
        ),
        (
            Role.ADMIN,
            Role.ADMIN,
            Verb.KICK,
            "You cannot use /kick on someone whose rank is equal to or above yours.",
            "不能对与你同级或级别更高的成员使用 /踢。",
        ),
    ],
)
def test_denials_say_why(sender: Role, target: Role, verb: Verb, en: str, zh: str) -> None:
    with pytest.raises(CommandDenied) as caught:
        authorize(_command(verb), sender, target, sender="op")
    assert (caught.value.text("en"), caught.value.text("zh-CN")) == (en, zh)


# --- actions -------------------------------------------------------------------------------


def _act(
    command_text: str | Message, *, lang: str = "zh-CN", role: Role = Role.OWNER, **kw: Any
) -> list[Action]:
    message = command_text if isinstance(command_text, Message) else msg(command_text, X)
    command = parse(message)
    assert command is not None
    ev = command_event(message, **kw)
    return to_actions(command, event=ev, rules_text=None, now=NOW, lang=lang, sender_role=role)


def _reply_of(actions: list[Action]) -> Action:
    (reply,) = [a for a in actions if a.type in (ActionType.REPLY, ActionType.SEND_MESSAGE)]
    return reply


def test_mute_mutes_until_now_plus_duration_and_confirms() -> None:
    mute, reply = _act(msg("/mute ", X, " 1h30m 刷屏"))
    assert mute == Action(
        ActionType.MUTE,
        platform="sim",
        group="g1",
        user="42",
        duration=timedelta(minutes=90),
        params={"until": "2026-03-02T11:00:00+00:00"},
        reason="command /mute by op",
    )
    assert reply.type is ActionType.REPLY
    assert (reply.group, reply.user, reply.target_message) == ("g1", "42", "m100")
    assert reply.reason == "command /mute by op"
    assert reply.message is not None
    assert reply.message.plain_text() == "已禁言 @张三 1 小时 30 分钟，原因：刷屏"
    assert X in reply.message.segments


def test_mute_until_is_utc_whatever_zone_now_is_in() -> None:
    command = Command(Verb.MUTE, "42", duration=timedelta(minutes=10))
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    mute, _ = to_actions(command, event=command_event(msg("/mute")), rules_text=None, now=shanghai)
    assert mute.params["until"] == "2026-03-02T09:40:00+00:00"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_actions(
            Command(Verb.RULES),
            event=command_event(msg("/rules")),
            rules_text="",
            now=datetime(2026, 3, 2),
        )


@pytest.mark.parametrize(
    ("text", "lang", "said"),
    [
        ("/mute ", "en", "Muted @张三 for 10 minutes."),
        ("/mute ", "zh-CN", "已禁言 @张三 10 分钟"),
        ("/unmute ", "zh-CN", "已解除 @张三 的禁言"),
        ("/unmute ", "en", "Unmuted @张三."),
        ("/kick ", "zh-CN", "已将 @张三 移出本群"),
        ("/kick ", "en", "Removed @张三 from the group."),
        ("/ban ", "zh-CN", "已封禁 @张三"),
        ("/ban ", "en", "Banned @张三."),
        ("/unban ", "zh-CN", "已解封 @张三"),
        ("/unban ", "en", "Unbanned @张三."),
    ],
)
def test_confirmations_in_both_languages(text: str, lang: str, said: str) -> None:
    reply = _reply_of(_act(text, lang=lang))
    assert reply.message is not None and reply.message.plain_text() == said


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("/unmute ", ActionType.UNMUTE),
        ("/kick ", ActionType.KICK),
        ("/ban ", ActionType.BAN),
        ("/unban ", ActionType.UNBAN),
    ],
)
def test_moderation_verbs_become_their_action(text: str, kind: ActionType) -> None:
    done, reply = _act(text)
    assert done == Action(
        kind, platform="sim", group="g1", user="42", reason=f"command /{kind.value} by op"
    )
    assert reply.type is ActionType.REPLY


def test_capped_mute_tells_the_operator() -> None:
    mute, reply = _act(msg("/mute ", X, " 90d"), lang="en")
    assert mute.duration == MAX_MUTE
    assert reply.message is not None
    assert reply.message.plain_text() == "Muted @张三 for 30 days (the longest allowed is 30 days)."


def test_kick_reason_is_shown() -> None:
    reply = _reply_of(_act(msg("/踢 ", X, " 发广告")))
    assert (
        reply.message is not None
        and reply.message.plain_text() == "已将 @张三 移出本群，原因：发广告"
    )


def test_title_sets_the_title_and_confirms() -> None:
    title, reply = _act(msg("/头衔 ", X, " 班长"))
    assert title.type is ActionType.SET_TITLE
    assert (title.user, title.params) == ("42", {"title": "班长"})
    assert reply.message is not None
    assert reply.message.plain_text() == "已将 @张三 的头衔设为「班长」"


def test_warn_is_one_reply_mentioning_the_target_marked_as_a_warning() -> None:
    (reply,) = _act(msg("/警告 ", X, " 刷屏"))
    assert reply.type is ActionType.REPLY
    assert reply.params == {"warning": True, "reason": "刷屏"}
    assert reply.user == "42" and reply.target_message == "m100"
    assert reply.message is not None and reply.message.segments[0] == X
    assert reply.message.plain_text() == "@张三 警告：刷屏"
    (bare,) = _act(msg("/warn ", X), lang="en")
    assert bare.params == {"warning": True, "reason": ""}
    assert bare.message is not None
    assert bare.message.plain_text() == "@张三 Warning: please follow the group rules."


@pytest.mark.parametrize(
    ("rules", "lang", "said"),
    [
        ("1. 禁止广告\n2. 友善交流", "zh-CN", "1. 禁止广告\n2. 友善交流"),
        ("  群规如下 ", "en", "群规如下"),
        (None, "zh-CN", "本群尚未设置群规。"),
        ("   ", "zh-CN", "本群尚未设置群规。"),
        ("", "en", "No group rules have been set yet."),
    ],
)
def test_rules_reply(rules: str | None, lang: str, said: str) -> None:
    ev = command_event(msg("/群规"))
    (reply,) = to_actions(Command(Verb.RULES), event=ev, rules_text=rules, now=NOW, lang=lang)
    assert reply.type is ActionType.REPLY and reply.target_message == "m100"
    assert reply.message is not None and reply.message.plain_text() == said
    assert reply.reason == "command /rules by op"


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.MEMBER, {"/rules", "/help"}),
        (Role.ADMIN, {"/mute", "/unmute", "/warn", "/kick", "/title", "/rules", "/help"}),
        (Role.OWNER, {f"/{v.value}" for v in Verb}),
    ],
)
def test_help_lists_what_the_sender_may_use(role: Role, shown: set[str]) -> None:
    ev = command_event(msg("/help"))
    (reply,) = to_actions(
        Command(Verb.HELP), event=ev, rules_text=None, now=NOW, lang="en", sender_role=role
    )
    assert reply.message is not None
    head, *lines = reply.message.plain_text().split("\n")
    assert head == "Commands you can use:"
    assert {line.split(" ")[0] for line in lines} == shown
    (zh,) = to_actions(Command(Verb.HELP), event=ev, rules_text=None, now=NOW, sender_role=role)
    assert zh.message is not None
    assert zh.message.plain_text().startswith("你可以使用的命令：")
    assert len(zh.message.plain_text().split("\n")) == len(shown) + 1


def test_without_a_message_id_the_answer_is_a_group_message() -> None:
    mute, said = _act("/mute ", message_id=None)
    assert mute.type is ActionType.MUTE
    assert said.type is ActionType.SEND_MESSAGE and said.target_message is None
    assert said.group == "g1"


@pytest.mark.parametrize("message_id", [12345, "", True, {"id": 1}, ["m"]])
def test_message_ids_of_odd_types(message_id: Any) -> None:
    reply = _reply_of(_act("/kick ", message_id=message_id))
    if message_id == 12345:
        assert (reply.type, reply.target_message) == (ActionType.REPLY, "12345")
    else:
        assert (reply.type, reply.target_message) == (ActionType.SEND_MESSAGE, None)


def test_in_a_direct_chat_rules_come_back_directly_and_moderation_is_refused() -> None:
    ev = command_event(msg("/rules"), group=None)
    (dm,) = to_actions(Command(Verb.RULES), event=ev, rules_text="友善", now=NOW)
    assert (dm.type, dm.user) == (ActionType.DIRECT_MESSAGE, "op")
    with pytest.raises(CommandError, match="only in a group"):
        to_actions(Command(Verb.KICK, "42"), event=ev, rules_text=None, now=NOW)


def test_refusal_replies_with_the_problem_in_the_senders_language() -> None:
    ev = command_event(msg("/mute abc"))
    with pytest.raises(CommandError) as caught:
        parse(msg("/mute ", X, " abc"))
    (zh,) = refusal(caught.value, ev, "zh-CN")
    (en,) = refusal(caught.value, ev, "en")
    assert zh.type is ActionType.REPLY and zh.target_message == "m100"
    assert zh.reason == "command /mute by op"
    assert zh.message is not None and zh.message.plain_text() == caught.value.text("zh-CN")
    assert en.message is not None and en.message.plain_text() == str(caught.value)
    assert zh.message.plain_text() != en.message.plain_text()


@pytest.mark.parametrize(
    "text", ["/mute ", "/warn ", "/kick ", "/ban ", "/unban ", "/unmute ", "/title "]
)
def test_actions_survive_the_outbox_round_trip(text: str) -> None:
    after = {"/title ": " 班长", "/mute ": " 10m 刷屏"}.get(text, " 刷屏")
    actions = _act(msg(text, X, after))
    assert [Action.from_dict(a.to_dict()) for a in actions] == actions


# --- the whole flow ------------------------------------------------------------------------


def _respond(
    message: Message, sender_role: Role, roles: dict[str, Role], **kw: Any
) -> list[Action]:
    return respond(
        command_event(message),
        sender_role=sender_role,
        role_of=roles.get,
        rules_text="友善交流",
        now=NOW,
        **kw,
    )


def test_respond_runs_parse_authorize_and_actions() -> None:
    actions = _respond(msg("！禁言 ", X, " 2小时"), Role.ADMIN, {"42": Role.MEMBER})
    assert [a.type for a in actions] == [ActionType.MUTE, ActionType.REPLY]
    assert actions[0].duration == timedelta(hours=2)


def test_respond_uses_the_targets_role() -> None:
    (refused,) = _respond(msg("/mute ", X), Role.ADMIN, {"42": Role.ADMIN}, lang="en")
    assert refused.message is not None
    assert "equal to or above yours" in refused.message.plain_text()


def test_respond_refuses_bad_commands_and_ignores_others() -> None:
    (refused,) = _respond(msg("/mute ", X, " 0m"), Role.OWNER, {})
    assert refused.message is not None and "为零" in refused.message.plain_text()
    assert _respond(msg("/start"), Role.OWNER, {}) == []
    assert _respond(msg("早上好"), Role.OWNER, {}) == []
    joined = event(2, EventType.JOIN)
    assert respond(joined, sender_role=Role.OWNER, role_of={}.get, rules_text="", now=NOW) == []


def test_respond_resolves_quotes_through_the_caller() -> None:
    actions = _respond(
        msg(Quote("m7"), "/kick"),
        Role.OWNER,
        {"u9": Role.MEMBER},
        resolve_quote=quotes({"m7": "u9"}),
    )
    assert actions[0] == Action(
        ActionType.KICK, platform="sim", group="g1", user="u9", reason="command /kick by op"
    )


# --- properties ----------------------------------------------------------------------------

HEADS = st.sampled_from(["", "/", "！", "!"]).flatmap(
    lambda p: st.sampled_from(sorted(ALIASES)).map(lambda w: p + w) if p else st.just("")
)
IDS = st.text(max_size=12)
SEGMENTS: st.SearchStrategy[Segment] = st.one_of(
    st.builds(Text, st.text()),
    st.builds(Mention, user=st.none() | IDS, name=st.none() | st.text(), everyone=st.booleans()),
    st.builds(Quote, IDS),
    st.builds(Image, url=st.none() | st.text()),
    st.builds(File, st.text()),
    st.builds(Link, st.text(), title=st.none() | st.text()),
    st.builds(Sticker, emoji=st.none() | st.text()),
    st.builds(Face, IDS, name=st.none() | st.text()),
    st.builds(Media, st.text()),
    st.builds(Poll, st.text(), options=st.lists(st.text()).map(tuple)),
)


def _resolver(message_id: str) -> str | None:
    return None if len(message_id) % 2 else f"author-{message_id}"


def _parse_or_error(message: Message) -> Command | None:
    try:
        return parse(message, resolve_quote=_resolver, addressed_to="bot")
    except CommandError as error:
        assert error.text("en") and error.text("zh-CN")
        return None


@given(head=HEADS, text=st.text())
def test_parse_never_raises_anything_else_on_any_text(head: str, text: str) -> None:
    _parse_or_error(msg(head + text))


@settings(deadline=None)
@given(head=HEADS, segments=st.lists(SEGMENTS, max_size=6))
def test_parse_never_raises_anything_else_on_any_segments(
    head: str, segments: list[Segment]
) -> None:
    command = _parse_or_error(Message((Text(head), *segments)))
    if command is None:
        return
    ev = command_event(Message((Text(head), *segments)))
    actions = to_actions(command, event=ev, rules_text="r", now=NOW, sender_role=Role.OWNER)
    assert actions
    assert [Action.from_dict(a.to_dict()) for a in actions] == actions


@given(
    seconds=st.integers(1, int(MAX_MUTE.total_seconds())),
    lang=st.sampled_from(["zh-CN", "en"]),
)
def test_formatted_durations_parse_back(seconds: int, lang: str) -> None:
    duration = timedelta(seconds=seconds)
    written = format_duration(duration, lang)
    assert parse_duration(written) == duration
    command = parse(msg("/mute ", X, f" {written} 刷屏"))
    assert command is not None
    assert (command.duration, command.text) == (duration, "刷屏")


HOSTILE = [
    "<script>alert('x')</script>",
    "\u202e班长\u202c",
    "'; DROP TABLE members; --",
    "{{7*7}} ${jndi:ldap://x}",
    "[CQ:at,qq=all]",
    "\u2066\u200b\ufeff管理员\u2069",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_titles_and_reasons_pass_through_as_data(payload: str) -> None:
    if len(payload) <= 16:
        title, reply = _act(msg("/title ", X, f" {payload}"))
        assert title.params == {"title": payload}
        assert reply.message is not None and Text(payload) in reply.message.segments
    else:
        with pytest.raises(CommandError, match=f"{len(payload)} characters"):
            parse(msg("/title ", X, f" {payload}"))
    (warning,) = _act(msg("/warn ", X, f" {payload}"))
    assert warning.params["reason"] == payload
    assert warning.message is not None and Text(payload) in warning.message.segments


@settings(deadline=None, max_examples=25)
@given(filler=st.text(min_size=1, max_size=20))
@example(filler="x")
@example(filler="\u202e")
@example(filler="1h")
@example(filler="9")
def test_ten_thousand_characters_never_crash(filler: str) -> None:
    huge = (filler * (10_000 // len(filler) + 1))[:10_000]
    for message in (
        msg(huge),
        msg("/mute ", X, " " + huge),
        msg("/warn ", X, " " + huge),
        msg("/title ", X, " " + huge),
        msg("/" + huge),
    ):
        _parse_or_error(message)


def test_errors_echo_the_senders_words_without_control_characters() -> None:
    with pytest.raises(CommandError) as caught:
        parse(msg("/mute ", X, " \u202e10x" + "y" * 100))
    for lang in ("en", "zh-CN"):
        text = caught.value.text(lang)
        assert "\u202e" not in text
        assert "10x" in text and "y" * 100 not in text

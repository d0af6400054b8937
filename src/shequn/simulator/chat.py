"""What people say: one group's conversation, message by message, as segments.

A ``GroupChat`` remembers just enough of its group's recent past to be
coherent: open questions (answers quote them and often @ the asker), who
spoke lately (for @-mentions), and whose question was just answered (they
say thanks, quoting the answer). It is called in time order, so every quote
points at an earlier message of the same group.
"""

from __future__ import annotations

from bisect import bisect
from collections import deque
from itertools import accumulate
from random import Random

from shequn.core.message import Face, Image, Link, Mention, Message, Quote, Segment, Sticker, Text
from shequn.simulator import vocabulary as v
from shequn.simulator.names import city
from shequn.simulator.topics import Topic

#: An open question is answered within this many seconds or forgotten.
QUESTION_TTL = 4 * 3600.0

# Shares of message kinds, once greetings, talk chatter and answers are decided.
# fmt: off
_KINDS = (
    ("question", 0.12), ("topic", 0.35), ("small_talk", 0.25), ("short", 0.08),
    ("mention", 0.04), ("emoji", 0.04), ("face", 0.03), ("sticker", 0.03),
    ("image", 0.04), ("link", 0.02),
)
# fmt: on
_KIND_NAMES = tuple(k for k, _ in _KINDS)
_KIND_CUM = tuple(accumulate(share for _, share in _KINDS))

#: Messages that are one fixed text are immutable: build each once and share it.
_PLAIN: dict[str, Message] = {}
_PLAIN_MAX = 50_000


def plain(text: str) -> Message:
    message = _PLAIN.get(text)
    if message is None:
        message = Message((Text(text),))
        if len(_PLAIN) < _PLAIN_MAX:
            _PLAIN[text] = message
    return message


class Slots:
    """A ``format_map`` mapping that draws a fresh value for every field it is asked for."""

    def __init__(self, rng: Random, table: dict[str, tuple[str, ...]]) -> None:
        self._rng = rng
        self._table = table
        self._last: dict[str, str] = {}
        self.extra: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key in self.extra:
            return self.extra[key]
        if key == "city":
            return city(self._rng)
        values = self._table[key]
        value = values[int(self._rng.random() * len(values))]
        if value == self._last.get(key) and len(values) > 1:  # "A和A哪个好" reads wrong
            value = values[(values.index(value) + 1) % len(values)]
        self._last[key] = value
        return value


class GroupChat:
    """The running conversation of one group."""

    def __init__(self, rng: Random, topic: Topic, group_id: str) -> None:
        self.rng = rng
        self.topic = topic
        self.group_id = group_id
        self.slots = Slots(rng, topic.slots)
        self.questions: deque[tuple[float, str, int, tuple[str, ...]]] = deque(maxlen=6)
        self.recent: deque[int] = deque(maxlen=12)
        self.answered: dict[int, str] = {}
        self.session: tuple[float, float] | None = None  # today's talk, as (start, end) POSIX

    def pick(self, items: tuple[str, ...]) -> str:
        return items[int(self.rng.random() * len(items))]

    def fill(self, template: str, **extra: str) -> str:
        if "{" not in template:
            return template
        self.slots.extra = extra
        return template.format_map(self.slots)

    def decorate(self, text: str) -> tuple[Segment, ...]:
        r = self.rng.random()
        if r < 0.16:
            return (Text(text + self.pick(v.EMOJI)),)
        if r < 0.20:
            face_id, name = v.FACES[int(self.rng.random() * len(v.FACES))]
            return (Text(text), Face(face_id, name))
        return (Text(text),)

    def line(self, templates: tuple[str, ...], decorate: float = 0.2, tail: float = 0.0) -> Message:
        """One line from ``templates``, slots filled, sometimes with an ending, emoji or face."""
        rng = self.rng
        text = templates[int(rng.random() * len(templates))]
        if "{" in text:
            self.slots.extra = {}
            text = text.format_map(self.slots)
        if tail and rng.random() < tail:
            text = text.rstrip("！。～") + v.TAILS[int(rng.random() * len(v.TAILS))]
        r = rng.random()
        if r >= decorate:
            return plain(text)
        if r < decorate * 0.8:
            return plain(text + v.EMOJI[int(rng.random() * len(v.EMOJI))])
        face_id, name = v.FACES[int(rng.random() * len(v.FACES))]
        return Message((Text(text), Face(face_id, name)))

    def say(
        self,
        ts: float,
        hour: int,
        seat: int,
        staff: bool,
        mid: str,
        n: int,
        who: list[tuple[str, str]],
    ) -> Message:
        """The next message: ``seat`` speaks at ``ts`` (local ``hour``) as message ``mid``.

        ``who`` maps seat index to (account id, nickname), for @-mentions.
        """
        rng = self.rng
        r = rng.random()
        recent = self.recent
        if seat in self.answered:  # my question got an answer: say thanks, quoting it
            answer = self.answered.pop(seat)
            if r < 0.6:
                recent.append(seat)
                return Message((Quote(answer), Text(self.pick(v.THANKS))))
        recent.append(seat)
        if 5 <= hour < 9:
            if r < 0.25:
                return self.line(v.MORNING)
        elif hour >= 22 or hour < 1:
            if r < 0.2:
                return self.line(v.NIGHT, 0.1)
        elif 11 <= hour < 13:
            if r < 0.05:
                return self.line(v.NOON, 0.0)
        else:
            session = self.session
            if session is not None and session[0] <= ts < session[1] and r < 0.5:
                return self.line(v.SESSION_CHAT)

        questions = self.questions
        if questions:
            while questions and ts - questions[0][0] > QUESTION_TTL:
                questions.popleft()
            if questions and rng.random() < (0.55 if staff else 0.3):
                q = questions[-1] if rng.random() < 0.7 else questions[0]
                if q[2] != seat:
                    questions.remove(q)
                    return self.answer(q, seat, mid, who)

        kind = _KIND_NAMES[bisect(_KIND_CUM, rng.random() * _KIND_CUM[-1])]
        if kind == "topic":
            return self.line(self.topic.chat, tail=0.25)
        if kind == "small_talk":
            return self.line(v.SMALL_TALK)
        if kind == "question":
            q_text, answers = self.topic.qa[int(rng.random() * len(self.topic.qa))]
            questions.append((ts, mid, seat, answers))
            return Message((Text(self.fill(q_text)),))
        if kind == "short":
            return self.line(v.SHORT_REPLIES, 0.0)
        if kind == "mention":
            other = recent[int(rng.random() * len(recent))]
            if other != seat:
                account, nick = who[other]
                return Message((Mention(account, nick), Text(" " + self.pick(v.AT_SOMEONE))))
            return self.line(v.SHORT_REPLIES)
        if kind == "emoji":
            return plain(self.pick(v.EMOJI) * (1 + int(rng.random() * 3)))
        if kind == "face":
            face_id, name = v.FACES[int(rng.random() * len(v.FACES))]
            return Message((Face(face_id, name),))
        if kind == "sticker":
            sticker_id, emoji = v.STICKERS[int(rng.random() * len(v.STICKERS))]
            return Message((Sticker(sticker_id, emoji),))
        if kind == "image":
            image = Image(url=f"https://example.com/img/{self.group_id}/{n}.jpg")
            if rng.random() < 0.5:
                return Message((image,))
            return Message((Text(self.pick(v.IMAGE_CAPTIONS)), image))
        title = self.pick(self.topic.articles)
        url = f"https://example.com/{self.topic.key}/share/{self.group_id}-{n}"
        return Message((Text("这篇不错，推荐一下："), Link(url, title)))

    def answer(
        self,
        q: tuple[float, str, int, tuple[str, ...]],
        seat: int,
        mid: str,
        who: list[tuple[str, str]],
    ) -> Message:
        """A reply quoting question ``q``, often @-ing the asker, with a fitting answer."""
        _, q_mid, asker, answers = q
        rng = self.rng
        text = (
            self.fill(self.pick(answers)) if rng.random() < 0.85 else self.pick(v.GENERIC_ANSWERS)
        )
        self.answered[asker] = mid
        if rng.random() < 0.5:
            account, nick = who[asker]
            return Message((Quote(q_mid), Mention(account, nick), Text(" " + text)))
        return Message((Quote(q_mid), *self.decorate(text)))

    # Rituals: said by a particular person at a particular moment.

    def welcome(self, account: str, nick: str) -> Message:
        before, _, after = self.pick(v.WELCOME).partition("{name}")
        return Message((Text(before), Mention(account, nick), Text(after)))

    def greet_first(self, account: str, nick: str) -> Message:
        """An answer to a newcomer's first words in the chat."""
        return Message((Mention(account, nick), Text(" " + self.pick(v.FIRST_WORDS_REPLIES))))

    def intro(self, nick: str) -> Message:
        return Message(
            self.decorate(self.fill(self.pick(v.INTRO), nick=nick, topic=self.topic.name))
        )

    def welcome_reply(self) -> Message:
        return Message((Text(self.pick(v.WELCOME_REPLIES)),))

    def announce_session(self, hour: float, title: str) -> Message:
        clock = f"{int(hour) - 12}点" + ("半" if hour % 1 else "")
        text = self.fill(self.pick(v.ANNOUNCE_SESSION), hour=clock, title=title)
        return Message((Mention(everyone=True), Text(" " + text)))

    def article(self, title: str, url: str) -> Message:
        return Message((Text(self.pick(v.ARTICLE_POST)), Link(url, title)))

    def award(self, account: str, nick: str, title: str) -> Message:
        before, _, after = self.pick(v.TITLE_AWARD).partition("{name}")
        return Message(
            (Text(before), Mention(account, nick), Text(after.replace("{title}", title)))
        )

    def spam(self, n: int) -> Message:
        url = f"https://example.com/promo/{self.group_id}-{n}"
        return Message((Text(self.pick(v.SPAM)), Link(url)))

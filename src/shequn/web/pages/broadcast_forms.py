"""The broadcast pages' forms, read and written: pure functions between what a browser
posts (flat text fields) and what the broadcast service takes (a post's JSON form, a
schedule's text, pacing settings).

Kept apart from the route handlers so the translation is tested without a server, and
so that the same rules hold on every page that shows these forms. Nothing here judges
a post or a schedule — the broadcast core does, naming every problem; this only says
where the form itself cannot be read (a cap that is not a number, a one-off without a
time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shequn.features.broadcast.pacing import DEFAULT_DAILY_CAP
from shequn.features.broadcast.post import Post

#: The languages the post form has a text box for, in the order shown.
FORM_LANGS = ("zh-CN", "en")
_TEXT_FIELDS = {"zh-CN": "text_zh", "en": "text_en"}
_SPLIT_TAGS = re.compile(r"[\s,，、]+")
WHEN_KINDS = ("now", "once", "repeat")


def blank_post_form() -> dict[str, str]:
    return {
        "title": "",
        "tags": "",
        "default_lang": "zh-CN",
        "text_zh": "",
        "text_en": "",
        "images": "",
        "links": "",
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def post_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The post's JSON form from the post form: a text box left blank is no variant;
    images are one URL a line; a link line is a URL, then its title."""
    variants = {
        lang: form.get(name, "")
        for lang, name in _TEXT_FIELDS.items()
        if form.get(name, "").strip()
    }
    default = form.get("default_lang", "zh-CN")
    if variants and default not in variants:
        default = next(iter(variants))
    links = []
    for line in _lines(form.get("links", "")):
        url, _, title = line.partition(" ")
        links.append({"url": url, "title": title.strip() or None})
    return {
        "title": form.get("title", "").strip(),
        "variants": variants,
        "default_lang": default,
        "images": _lines(form.get("images", "")),
        "links": links,
        "tags": [t for t in _SPLIT_TAGS.split(form.get("tags", "")) if t],
    }


def post_form(title: str, post: Post) -> dict[str, str]:
    """The post form filled from a stored post (the inverse of ``post_data``)."""
    return {
        "title": title,
        "tags": " ".join(post.tags),
        "default_lang": post.default_lang,
        "text_zh": post.variants.get("zh-CN", ""),
        "text_en": post.variants.get("en", ""),
        "images": "\n".join(i.url for i in post.images),
        "links": "\n".join(
            f"{link.url} {link.title}" if link.title else link.url for link in post.links
        ),
    }


@dataclass(frozen=True)
class FormProblem:
    """A field of the form that cannot be read, in both languages."""

    where: str
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return f"{self.where}：{self.zh}" if lang.startswith("zh") else f"{self.where}: {self.en}"


@dataclass
class ScheduleForm:
    """The compose and edit forms' schedule part, as the browser sent it."""

    targets: str = ""
    when_kind: str = "now"
    at: str = ""
    repeat: str = ""
    daily_cap: str = str(DEFAULT_DAILY_CAP)
    quiet: str = ""
    golden: bool = False
    problems: list[FormProblem] = field(default_factory=list)

    def when(self) -> str | None:
        """The schedule text the service parses: None sends now; a one-off time is the
        ``datetime-local`` value, read in the community's time zone by the service."""
        if self.when_kind == "once":
            if not self.at.strip():
                self.problems.append(
                    FormProblem("when", "choose the time to send at", "请选择发送时间")
                )
                return None
            return self.at.strip()
        if self.when_kind == "repeat":
            if not self.repeat.strip():
                self.problems.append(
                    FormProblem(
                        "when",
                        "write how it repeats, e.g. “weekdays 08:30”",
                        "请写明如何重复，例如“工作日 08:30”",
                    )
                )
                return None
            return self.repeat.strip()
        return None

    def pacing(self) -> dict[str, Any]:
        """The pacing settings the service takes; a cap that is not a whole number is a
        problem of the form (its range is the core's to check)."""
        cap_text = self.daily_cap.strip()
        cap: int = DEFAULT_DAILY_CAP
        if cap_text:
            if cap_text.isdigit() and len(cap_text) < 6:
                cap = int(cap_text)
            else:
                self.problems.append(
                    FormProblem("daily_cap", "must be a whole number", "必须是整数")
                )
        return {"daily_cap": cap, "quiet": self.quiet.strip(), "golden": self.golden}


def schedule_form(values: Mapping[str, Any]) -> ScheduleForm:
    """The schedule part of a posted form; an unknown ``when_kind`` reads as "now"."""
    kind = str(values.get("when_kind", "now"))
    return ScheduleForm(
        targets=str(values.get("targets", "")).strip(),
        when_kind=kind if kind in WHEN_KINDS else "now",
        at=str(values.get("at", "")),
        repeat=str(values.get("repeat", "")),
        daily_cap=str(values.get("daily_cap", DEFAULT_DAILY_CAP)),
        quiet=str(values.get("quiet", "")),
        golden=bool(values.get("golden")),
    )

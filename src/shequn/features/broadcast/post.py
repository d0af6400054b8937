"""A broadcast post — what an operator composes once for many groups — and the checks
that refuse it when it cannot be sent as written.

A post holds one text per language (``zh-CN``, ``en``…) with ``{variables}`` filled per
group, images, links and tags. ``check_post`` / ``parse_post`` refuse an empty post, an
unknown ``{variable}``, a bad image or link, naming the field (``variants.en``,
``images[1].url``) and listing every problem at once. What each platform makes of a sound
post is ``content.render``'s business.

Language variants: a reader gets the variant of their language, else one of the same
primary language (``zh-TW`` → ``zh-CN``), else the post's ``default_lang``. Images and
links are shared by every variant.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shequn.features.broadcast.problems import PostError, Problem
from shequn.features.templating.logic import TemplateError, parse
from shequn.kit.wording import echo

#: The variables a post's text may use, filled per group when it is sent.
VARIABLES: tuple[str, ...] = ("group", "date", "member_count", "community")
#: Bounds that keep a post something a person wrote: the platforms' own limits are lower
#: still and are checked per platform by ``content.render``.
MAX_TEXT = 20_000
MAX_IMAGES = 20
MAX_LINKS = 20
MAX_TAGS = 20
MAX_URL = 2048
MAX_LABEL = 200
IMAGE_SCHEMES = ("http", "https", "mxc")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_LANG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
#: A tag is used in target specs (``tag:NAME``, comma-separated): no spaces, commas or colons.
_TAG = re.compile(r"[^\s,:]{1,32}\Z")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class PostImage:
    """An image: a URL (``http(s)://``, or ``mxc://`` for Matrix) and, per platform, the
    platform's own id for it where it has been uploaded there (a Telegram ``file_id``, a
    WeCom ``media_id``, a Matrix ``mxc://`` URI)."""

    url: str
    alt: str | None = None
    file_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostLink:
    url: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """What an operator composes: one text per language, images, links and tags."""

    id: str
    variants: Mapping[str, str] = field(default_factory=dict)
    images: tuple[PostImage, ...] = ()
    links: tuple[PostLink, ...] = ()
    tags: tuple[str, ...] = ()
    default_lang: str = "zh-CN"

    def choose_lang(self, lang: str) -> str | None:
        """The variant a reader of ``lang`` gets (see the module's docstring); None when
        the post has no text at all."""
        if not self.variants:
            return None
        if lang in self.variants:
            return lang
        primary = lang.split("-", 1)[0].lower()
        for candidate in sorted(self.variants):
            if candidate.split("-", 1)[0].lower() == primary:
                return candidate
        if self.default_lang in self.variants:
            return self.default_lang
        return sorted(self.variants)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "variants": dict(self.variants),
            "default_lang": self.default_lang,
            "images": [
                {"url": i.url, "alt": i.alt, "file_ids": dict(i.file_ids)} for i in self.images
            ],
            "links": [{"url": link.url, "title": link.title} for link in self.links],
            "tags": list(self.tags),
        }


# --- checking a post ---------------------------------------------------------------------


def _bad_character(text: str) -> tuple[int, str] | None:
    """The first character no database can store or no platform can send: NUL, or half
    of a UTF-16 surrogate pair (possible in JSON, never in real text)."""
    for index, ch in enumerate(text):
        if ch == "\x00" or unicodedata.category(ch) == "Cs":
            return index + 1, f"U+{ord(ch):04X}"
    return None


def _text_problems(where: str, text: str) -> list[Problem]:
    problems: list[Problem] = []
    if len(text) > MAX_TEXT:
        problems.append(
            Problem(
                where,
                f"is {len(text):,} characters; a post holds at most {MAX_TEXT:,}",
                f"共 {len(text):,} 个字符，最多 {MAX_TEXT:,}",
            )
        )
        return problems
    bad = _bad_character(text)
    if bad is not None:
        problems.append(
            Problem(
                where,
                f"character {bad[0]} ({bad[1]}) cannot be sent",
                f"第 {bad[0]} 个字符（{bad[1]}）无法发送",
            )
        )
        return problems
    unknown = False
    for match in _TOKEN.finditer(text):
        name = match.group(1)
        if name is not None and _NAME.match(name) and name not in VARIABLES:
            unknown = True
            known = ", ".join("{" + v + "}" for v in VARIABLES)
            problems.append(
                Problem(
                    where,
                    f"unknown variable {{{echo(name)}}} at character {match.start() + 1} "
                    f"(known: {known})",
                    f"第 {match.start() + 1} 个字符处的变量 {{{echo(name)}}} 不存在"
                    f"（可用：{known}）",
                )
            )
    if not unknown:
        try:
            parse(text, VARIABLES)
        except TemplateError as exc:
            problems.append(Problem(where, str(exc), f"变量写法有误：{exc}"))
    return problems


def _url_problem(where: str, url: object, schemes: Sequence[str]) -> Problem | None:
    allowed = ", ".join(f"{s}://" for s in schemes)
    if not isinstance(url, str) or not url:
        return Problem(where, "is missing", "缺失")
    if len(url) > MAX_URL:
        return Problem(where, f"is longer than {MAX_URL} characters", f"超过 {MAX_URL} 个字符")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return Problem(where, "contains spaces or control characters", "含有空白或控制字符")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in schemes or not parts.netloc:
        return Problem(
            where,
            f"“{echo(url)}” is not a URL starting with {allowed}",
            f"“{echo(url)}”不是以 {allowed} 开头的网址",
        )
    if parts.scheme.lower() == "mxc" and len(parts.path) < 2:
        return Problem(where, "an mxc:// URI needs a media id", "mxc:// 地址缺少媒体 id")
    return None


def _label_problem(where: str, value: object) -> Problem | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return Problem(where, "must be text", "必须是文本")
    if len(value) > MAX_LABEL:
        return Problem(where, f"is longer than {MAX_LABEL} characters", f"超过 {MAX_LABEL} 个字符")
    if _bad_character(value) is not None:
        return Problem(where, "contains a character that cannot be sent", "含有无法发送的字符")
    return None


def _image_problems(index: int, image: PostImage) -> list[Problem]:
    where = f"images[{index}]"
    problems = [
        p
        for p in (
            _url_problem(f"{where}.url", image.url, IMAGE_SCHEMES),
            _label_problem(f"{where}.alt", image.alt),
        )
        if p is not None
    ]
    if not isinstance(image.file_ids, Mapping):
        problems.append(Problem(f"{where}.file_ids", "must be an object", "必须是对象"))
        return problems
    for platform, ident in image.file_ids.items():
        spot = f"{where}.file_ids.{echo(str(platform))}"
        if not isinstance(platform, str) or not platform or len(platform) > 32:
            problems.append(Problem(spot, "names no platform", "没有写明平台"))
        elif not isinstance(ident, str) or not ident.strip() or len(ident) > 512:
            problems.append(
                Problem(spot, "must be an id of 1 to 512 characters", "必须是 1 到 512 个字符的 id")
            )
    return problems


def _variant_problems(post: Post) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(post.variants, Mapping):
        return [Problem("variants", "must be an object of language → text", "必须是“语言 → 正文”")]
    has_media = bool(post.images or post.links)
    for lang, text in post.variants.items():
        where = f"variants.{echo(str(lang))}"
        if not isinstance(lang, str) or not _LANG.match(lang):
            problems.append(
                Problem(
                    where,
                    "is not a language tag such as zh-CN or en",
                    "不是 zh-CN、en 这样的语言代码",
                )
            )
        if not isinstance(text, str):
            problems.append(Problem(where, "must be text", "必须是文本"))
        elif not text.strip() and not has_media:
            problems.append(
                Problem(
                    where,
                    "is empty: write it or remove the variant",
                    "为空：请填写或删除该语言版本",
                )
            )
        else:
            problems.extend(_text_problems(where, text))
    if post.variants and (
        not isinstance(post.default_lang, str) or post.default_lang not in post.variants
    ):
        shown = ", ".join(sorted(str(k) for k in post.variants))
        problems.append(
            Problem(
                "default_lang",
                f"“{echo(str(post.default_lang))}” is not one of the variants ({shown})",
                f"“{echo(str(post.default_lang))}”不在已有语言版本中（{shown}）",
            )
        )
    return problems


def post_problems(post: Post) -> list[Problem]:
    """Every problem of ``post``, each naming its field; empty when it can be sent."""
    problems: list[Problem] = []
    if not isinstance(post.id, str) or not _ID.match(post.id):
        problems.append(
            Problem(
                "id",
                "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                "必须是 1–64 个字母、数字、“.”“_”“-”，以字母或数字开头",
            )
        )
    problems.extend(_variant_problems(post))
    if len(post.images) > MAX_IMAGES:
        problems.append(Problem("images", f"at most {MAX_IMAGES}", f"最多 {MAX_IMAGES} 张"))
    for index, image in enumerate(post.images):
        problems.extend(_image_problems(index, image))
    if len(post.links) > MAX_LINKS:
        problems.append(Problem("links", f"at most {MAX_LINKS}", f"最多 {MAX_LINKS} 个"))
    for index, link in enumerate(post.links):
        for problem in (
            _url_problem(f"links[{index}].url", link.url, ("http", "https")),
            _label_problem(f"links[{index}].title", link.title),
        ):
            if problem is not None:
                problems.append(problem)
    if len(post.tags) > MAX_TAGS:
        problems.append(Problem("tags", f"at most {MAX_TAGS}", f"最多 {MAX_TAGS} 个"))
    for index, tag in enumerate(post.tags):
        if not isinstance(tag, str) or not _TAG.match(tag):
            problems.append(
                Problem(
                    f"tags[{index}]",
                    "must be 1–32 characters without spaces, commas or colons",
                    "必须是 1–32 个字符，不含空格、逗号或冒号",
                )
            )
    named = [tag for tag in post.tags if isinstance(tag, str)]
    if len(set(named)) != len(named):
        problems.append(Problem("tags", "has a tag twice", "有重复的标签"))
    texts = [t for t in post.variants.values() if isinstance(t, str) and t.strip()]
    if not texts and not post.images and not post.links:
        problems.append(
            Problem(
                "post",
                "is empty: write a text, or add an image or a link",
                "内容为空：请填写正文，或添加图片、链接",
            )
        )
    return problems


def check_post(post: Post) -> Post:
    """``post`` when it can be sent; otherwise ``PostError`` listing every problem."""
    problems = post_problems(post)
    if problems:
        raise PostError(problems)
    return post


# --- reading a post from JSON ------------------------------------------------------------


def _as_list(data: Mapping[str, Any], key: str, problems: list[Problem]) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(key, "must be a list", "必须是列表"))
        return []
    return value


def _read_image(index: int, raw: Any, problems: list[Problem]) -> PostImage:
    if isinstance(raw, str):
        return PostImage(raw)
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(f"images[{index}]", "must be a URL or an object", "必须是网址或对象")
        )
        return PostImage("")
    ids = raw.get("file_ids")
    return PostImage(raw.get("url"), raw.get("alt"), {} if ids is None else ids)  # type: ignore[arg-type]


def _read_link(index: int, raw: Any, problems: list[Problem]) -> PostLink:
    if isinstance(raw, str):
        return PostLink(raw)
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(f"links[{index}]", "must be a URL or an object", "必须是网址或对象")
        )
        return PostLink("")
    return PostLink(raw.get("url"), raw.get("title"))  # type: ignore[arg-type]


def _lang_field(data: Mapping[str, Any], key: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.append(
        Problem(key, "must be a language tag such as zh-CN", "必须是 zh-CN 这样的语言代码")
    )
    return None


def parse_post(data: Any) -> Post:
    """A post from its JSON form (the API, the store, the CLI); ``PostError`` lists every
    problem at once. ``text`` with an optional ``lang`` is shorthand for one variant."""
    if not isinstance(data, Mapping):
        raise PostError([Problem("post", "must be an object", "必须是对象")])
    problems: list[Problem] = []
    variants = data.get("variants")
    default_lang = _lang_field(data, "default_lang", problems)
    if "text" in data:
        lang = _lang_field(data, "lang", problems) or default_lang or "zh-CN"
        if variants is not None:
            problems.append(
                Problem(
                    "text", "give either text or variants, not both", "text 与 variants 只能填一个"
                )
            )
        variants = {lang: data["text"]}
        default_lang = default_lang or lang
    if variants is None:
        variants = {}
    if not isinstance(variants, Mapping):
        problems.append(Problem("variants", "must be an object", "必须是对象"))
        variants = {}
    if default_lang is None:
        default_lang = "zh-CN" if "zh-CN" in variants or not variants else sorted(variants)[0]
    images = tuple(
        _read_image(i, r, problems) for i, r in enumerate(_as_list(data, "images", problems))
    )
    links = tuple(
        _read_link(i, r, problems) for i, r in enumerate(_as_list(data, "links", problems))
    )
    tags = tuple(_as_list(data, "tags", problems))
    post = Post(
        id=data.get("id"),  # type: ignore[arg-type]
        variants=dict(variants),
        images=images,
        links=links,
        tags=tags,
        default_lang=default_lang,
    )
    problems.extend(post_problems(post))
    if problems:
        raise PostError(problems)
    return post

"""Every string the dashboard shows goes through the catalogue and has a zh-CN translation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from shequn.web import i18n

WEB = Path(str(resources.files("shequn.web")))
METHODS = [("templates/**.j2", "jinja2"), ("**.py", "python")]
#: Messages that read the same in Chinese (names, codes).
SAME_IN_BOTH = {"API", "ID", "JSON", "CSV", "Telegram", "QQ", "WeChat"}
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def _msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(WEB),
        METHODS,
        options_map=OPTIONS,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, filename)
    return found


def test_templates_and_code_use_the_catalogue() -> None:
    assert len(_msgids()) > 20


def test_every_message_has_a_chinese_translation() -> None:
    zh = i18n.translations("zh-CN")
    missing = sorted(
        (f, m) for m, f in _msgids().items() if zh.gettext(m) == m and m not in SAME_IN_BOTH
    )
    assert not missing, "untranslated for zh-CN: " + "; ".join(f"{f}: {m!r}" for f, m in missing)


@pytest.mark.parametrize(
    ("preferred", "header", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.5", "en"),
        (None, "fr", "zh-CN"),
        (None, "zh-Hant-TW", "zh-CN"),
        (None, ";;;q=abc,,", "zh-CN"),
    ],
)
def test_language_negotiation(preferred: str | None, header: str, expected: str) -> None:
    assert i18n.negotiate(preferred, header, "zh-CN") == expected

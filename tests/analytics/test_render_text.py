"""The terminal report: the same figures, and chat strings printed exactly as written."""

from __future__ import annotations

import pytest
from rich.console import Console

from analytics.report_sample import sample_report
from shequn.features.analytics.render import render_text
from shequn.features.analytics.render.catalogue import text


def _render(report: dict) -> str:
    console = Console(record=True, width=120, color_system=None)
    render_text(report, console)
    return console.export_text()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_names_codes_and_labels(lang: str) -> None:
    report = sample_report(lang)
    out = _render(report)
    for key in ("title", "text.overview", "text.groups", "group.advice"):
        assert text(lang, key) in out
    for group in report["groups"]:
        assert group["name"] in out
        for reason in group["health"]["reasons"]:
            assert reason["code"] in out
            assert reason["detail"] in out
    declining = next(g for g in report["groups"] if g["health"]["declining"])
    healthy = next(g for g in report["groups"] if not g["health"]["reasons"])
    assert out.index(declining["name"]) < out.index(healthy["name"])


def test_markup_in_chat_strings_is_printed_literally() -> None:
    report = sample_report("en", hostile=True)
    out = _render(report)
    assert "[bold red]x[/]" in out
    assert "<script>alert(1)</script>" in out
    assert "</script><script>alert(2)</script>" in out


def test_control_characters_are_made_visible() -> None:
    report = sample_report("en")
    report["groups"][0]["name"] = "\x1b[31mred\u202eevil"
    report["groups"][1]["health"]["reasons"][0]["detail"] = "bell\x07 and [link=x]y[/link]"
    console = Console(record=True, width=120, force_terminal=True)
    render_text(report, console)
    styled = console.export_text(styles=True, clear=False)
    plain = console.export_text()
    assert "\x1b[31mred" not in styled
    assert "\\u001b[31mred\\u202eevil" in plain
    assert "\\u0007 and [link=x]y[/link]" in plain
    assert "\u202e" not in plain


def test_a_huge_name_does_not_flood_the_terminal() -> None:
    report = sample_report("en", hostile=True)
    out = _render(report)
    assert len(out.splitlines()) < 200

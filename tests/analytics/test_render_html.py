"""The HTML report: self-contained, pinned by its CSP, and inert whatever the chat said."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from analytics.report_sample import HOSTILE, HOSTILE_COMMUNITY, sample_report
from browserharness import ARTIFACTS, WATCH_CSP, launch_chromium
from shequn.features.analytics.render import render_html
from shequn.features.analytics.render.catalogue import CATALOGUES, text
from shequn.features.analytics.render.html import chart_blocks, csp_hash, static_text

LANGS = ["zh-CN", "en"]
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "data", "poster", "xlink:href"}


class Page(HTMLParser):
    """What a browser would see: elements, attributes, script and style texts, text nodes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str, str]] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.styles: list[str] = []
        self.texts: list[str] = []
        self._raw: tuple[str, dict[str, str], list[str]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.elements.append((tag, values))
        self.attrs.extend((tag, name, value) for name, value in values.items())
        if tag in ("script", "style"):
            self._raw = (tag, values, [])

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw[2].append(data)
        else:
            self.texts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._raw is not None and tag == self._raw[0]:
            kind, attrs, parts = self._raw
            if kind == "script":
                self.scripts.append((attrs, "".join(parts)))
            else:
                self.styles.append("".join(parts))
            self._raw = None

    def executable(self) -> list[str]:
        return [body for attrs, body in self.scripts if attrs.get("type", "").lower() in JS_TYPES]

    def data_blocks(self) -> dict[str, str]:
        return {
            attrs["id"]: body
            for attrs, body in self.scripts
            if attrs.get("type") == "application/json"
        }

    def csp(self) -> dict[str, list[str]]:
        metas = [
            attrs["content"]
            for tag, attrs in self.elements
            if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy"
        ]
        assert len(metas) == 1
        directives = [d.split() for d in metas[0].split(";") if d.strip()]
        return {d[0]: d[1:] for d in directives}


@pytest.fixture(scope="module")
def pages() -> dict[tuple[str, bool], str]:
    return {
        (lang, hostile): render_html(sample_report(lang, hostile=hostile))
        for lang in LANGS
        for hostile in (False, True)
    }


@pytest.mark.parametrize("lang", LANGS)
def test_renders_every_group_in_both_languages(pages: dict, lang: str) -> None:
    html = pages[(lang, False)]
    report = sample_report(lang)
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in html
    for key in ("title", "section.overview", "declining.heading", "section.cohorts"):
        assert str(escape(text(lang, key))) in html
    for group in report["groups"]:
        assert str(escape(group["name"])) in html
        for reason in group["health"]["reasons"]:
            assert str(escape(reason["advice"])) in html
    declining = [g["name"] for g in report["groups"] if g["health"]["declining"]]
    first_card = html.index('id="group-1"')
    assert html.index(str(escape(declining[0])), first_card) < html.index('id="group-2"')


@pytest.mark.parametrize("key", [(lang, h) for lang in LANGS for h in (False, True)])
def test_nothing_is_loaded_from_outside(pages: dict, key: tuple[str, bool]) -> None:
    html = pages[key]
    page = Page(html)
    assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.IGNORECASE)
    tags = {tag for tag, _ in page.elements}
    assert not {"link", "iframe", "object", "embed", "img", "base", "form"} & tags
    for _tag, name, value in page.attrs:
        if name in URL_ATTRS:
            assert not re.match(r"\s*(https?:)?//", value, re.IGNORECASE), (name, value)
            assert value.startswith("#"), (name, value)


@pytest.mark.parametrize("key", [(lang, h) for lang in LANGS for h in (False, True)])
def test_csp_pins_exactly_the_inline_scripts_and_style(pages: dict, key: tuple[str, bool]) -> None:
    page = Page(pages[key])
    csp = page.csp()
    assert csp["default-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert sorted(csp["script-src"]) == sorted(csp_hash(s) for s in page.executable())
    assert sorted(csp["style-src"]) == sorted(csp_hash(s) for s in page.styles)
    assert len(page.executable()) == 2
    assert "'unsafe-inline'" not in csp["script-src"]
    assert pages[key].index("Content-Security-Policy") < pages[key].index("<script")


def test_hostile_strings_stay_text(pages: dict) -> None:
    html = pages[("en", True)]
    page = Page(html)
    assert page.executable() == [static_text("echarts.min.js"), static_text("report.js")]
    blocks = chart_blocks(sample_report("en", hostile=True))
    assert set(page.data_blocks()) == set(blocks)
    assert len(page.scripts) == 2 + len(blocks)
    for _tag, name, value in page.attrs:
        assert not name.lower().startswith("on"), name
        assert not value.strip().lower().startswith("javascript:"), value
    for raw in ("<script>alert", "</script><script>", "<img src=x", "<i>很长", "<!--"):
        assert raw not in html
    markup = html
    for body in page.data_blocks().values():
        markup = markup.replace(body, "")
    assert '" onmouseover=' not in markup, "a quote from chat closed an attribute"
    visible = "".join(page.texts)
    for name in [*HOSTILE, HOSTILE_COMMUNITY]:
        assert str(escape(name)) in html
        assert name in visible


@pytest.mark.parametrize("key", [(lang, h) for lang in LANGS for h in (False, True)])
def test_json_blocks_round_trip(pages: dict, key: tuple[str, bool]) -> None:
    lang, hostile = key
    page = Page(pages[key])
    expected = chart_blocks(sample_report(lang, hostile=hostile))
    found = page.data_blocks()
    assert set(found) == set(expected)
    for block_id, body in found.items():
        assert not set(body) & {"<", ">", "&", "\u2028", "\u2029"}
        assert json.loads(body) == expected[block_id]
    sources = {v for _t, n, v in page.attrs if n == "data-source"}
    assert sources <= set(found)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogue_tables_match() -> None:
    zh, en = CATALOGUES["zh-CN"], CATALOGUES["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert _placeholders(zh[key]) == _placeholders(en[key]), key
        assert zh[key].strip() and en[key].strip(), key


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


_CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('[data-chart]'))
  .map((el) => !!el.querySelector('canvas, svg'))"""
_SCORE_TIPS = """() => {
  const el = document.querySelector('[data-chart="scores"]');
  const chart = echarts.getInstanceByDom(el);
  const names = JSON.parse(document.getElementById('data-scores').textContent).names;
  const shown = names.map((name, i) => {
    chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
    const tip = el.querySelector('.tt');
    return [tip.textContent.includes(name), tip.querySelectorAll('script, img, iframe').length];
  });
  chart.dispatchAction({type: 'hideTip'});
  return shown;
}"""
_INJECT = """() => {
  const s = document.createElement('script');
  s.textContent = 'window.__ran = true';
  document.body.appendChild(s);
  return window.__ran === true;
}"""


@pytest.mark.parametrize(("lang", "hostile"), [("zh-CN", False), ("en", False), ("en", True)])
def test_opens_in_chromium(browser: Any, tmp_path: Path, lang: str, hostile: bool) -> None:
    report = sample_report(lang, hostile=hostile)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script(WATCH_CSP)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")

    drawn = page.evaluate(_CHARTS_DRAWN)
    assert drawn == [True] * (2 + 2 * len(report["groups"]))
    for chart in page.query_selector_all("[data-chart]"):
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box and box["height"] > 100
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert all(shown and not elements for shown, elements in page.evaluate(_SCORE_TIPS))
    page.mouse.move(0, 0)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(600)  # let the hidden tooltip finish fading out of the screenshot

    assert errors == []
    assert dialogs == []
    assert page.evaluate("window.__csp") == []
    assert requests == [path.as_uri()]
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"report-{lang}{'-hostile' if hostile else ''}.png"
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    assert page.evaluate(_INJECT) is False, "the CSP let an unlisted inline script run"
    assert any("script-src" in v for v in page.evaluate("window.__csp"))
    page.close()


def test_weeks_after_the_last_complete_one_are_marked_partial() -> None:
    report = sample_report("en")
    weeks = [w["week"] for w in report["groups"][0]["weekly"]]
    report["range"]["weeks_complete_to"] = weeks[-3]
    blocks = chart_blocks(report)
    assert blocks["data-weekly-1"]["partial"] == [False] * (len(weeks) - 2) + [True, True]

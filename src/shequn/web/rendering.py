"""Server-rendered pages: one Jinja environment, and what every page's template can use.

Autoescaping is on for every template, so chat text is inert wherever it lands;
translations come from the request's locale through ``gettext``/``ngettext`` in
the render context (Jinja's i18n extension resolves them there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shequn.config import Settings
from shequn.features.community.setup import CommunityRef, communities_of, pick_community
from shequn.features.operators.permissions import Permission, allows
from shequn.features.operators.service import Principal
from shequn.web import i18n
from shequn.web.context import web_of


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("shequn.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # replaced per render by the context's
    env.globals["static"] = static_url
    return env


#: Where static files come from: the dashboard's own, then the report's (ECharts is
#: vendored once, there, and served from both).
STATIC_PACKAGES = [("shequn.web", "static"), ("shequn.features.analytics.render", "static")]


@lru_cache(maxsize=64)
def _digest(path: str) -> str:
    for package, folder in STATIC_PACKAGES:
        file = resources.files(package).joinpath(folder, path)
        if file.is_file():
            return hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    raise FileNotFoundError(f"no static file {path}")


def static_url(path: str) -> str:
    """A static file's address with its content hash, so browsers may cache it forever."""
    return f"/static/{path}?v={_digest(path)}"


def locale_of(request: Request, principal: Principal | None, settings: Settings) -> str:
    return i18n.negotiate(
        principal.locale if principal else request.query_params.get("lang"),
        request.headers.get("accept-language"),
        settings.locale,
    )


@dataclass(frozen=True)
class PageContext:
    """What a page handler knows about the request before it queries anything."""

    principal: Principal
    community: CommunityRef | None
    communities: list[CommunityRef]
    locale: str
    fmt: i18n.Formatter

    def gettext(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.locale).gettext(message)
        return text % values if values else text


def page_context(request: Request, principal: Principal) -> PageContext:
    """Call from a (sync) page handler: it reads the workspace's communities."""
    web = web_of(request)
    with web.read() as conn:
        choices = communities_of(conn, principal.workspace_id)
    community = pick_community(choices, principal.community_id)
    locale = locale_of(request, principal, web.app.settings)
    timezone = community.timezone if community else web.app.settings.timezone
    return PageContext(principal, community, choices, locale, i18n.Formatter(locale, timezone))


def _gettexts(locale: str) -> dict[str, Any]:
    tr = i18n.translations(locale)

    def gettext(message: str, **values: Any) -> str:
        text = tr.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        text = tr.ngettext(singular, plural, n)
        return text % ({"num": n} | values)

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    page: PageContext | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (``page`` given: signed in, with the layout's navigation) or a
    bare page such as the sign-in form."""
    web = web_of(request)
    principal = page.principal if page else getattr(request.state, "principal", None)
    locale = page.locale if page else locale_of(request, principal, web.app.settings)
    values: dict[str, Any] = {
        "request": request,
        "page": page,
        "principal": principal,
        "locale": locale,
        "locales": i18n.LOCALES,
        "language_names": i18n.LANGUAGE_NAMES,
        "fmt": page.fmt if page else i18n.Formatter(locale, web.app.settings.timezone),
        "csrf_token": principal.csrf_token if principal and principal.csrf_token else "",
        "can": (lambda name: allows(principal.role, Permission(name))) if principal else None,
        "htmx": request.headers.get("hx-request") == "true",
        **_gettexts(locale),
        **context,
    }
    html = web.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=headers)

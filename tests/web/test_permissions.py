"""The permission matrix holds on every route, page and API alike.

Routes are discovered from the application, not listed here, so a new route is
covered the day it is added: it must declare exactly one access dependency, and
every role must get exactly what ``MATRIX`` gives it. Path parameters point at
ids that do not exist, so a permitted request answers 404 or 422 and changes
nothing, while a refused one must answer 403 before looking anything up.
"""

from __future__ import annotations

import re

import pytest

from shequn.features.operators.permissions import Permission, Role, allows
from shequn.web.app import routes_of
from shequn.web.auth import route_permission
from webharness import WebHarness

pytestmark = pytest.mark.anyio
#: Routes anyone may reach, signed in or not.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/docs"),
    # WeCom signs its callbacks; the adapter checks the signature instead of a session.
    ("GET", "/hooks/wecom/{name}"),
    ("POST", "/hooks/wecom/{name}"),
    # The rotating invite's page is printed on posters: newcomers have no account.
    ("GET", "/join/{slug}"),
}
MISSING_ID = "987654321"


def _guards(dependant) -> list:  # type: ignore[no-untyped-def]
    found = []
    for sub in dependant.dependencies:
        if route_permission(sub.call) is not False:
            found.append(sub.call)
        found.extend(_guards(sub))
    return found


def _routes(asgi) -> list[tuple[str, str, Permission | None]]:  # type: ignore[no-untyped-def]
    out = []
    for path, route in routes_of(asgi):
        guards = _guards(route.dependant)
        assert len(guards) == 1, f"{path} declares {len(guards)} access dependencies"
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path, route_permission(guards[0])))
    # Signing out last, so it cannot end the session the other requests use.
    return sorted(out, key=lambda r: (r[1] == "/logout", r[1], r[0]))


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", MISSING_ID, path)


async def test_every_route_declares_one_access_rule(web: WebHarness) -> None:
    routes = _routes(web.asgi)
    assert len(routes) > 5
    for method, path, permission in routes:
        if permission is None:
            assert (method, path) in PUBLIC, f"{method} {path} is public but not meant to be"


async def test_signed_out_requests_are_refused(web: WebHarness) -> None:
    c = web.client()
    for method, path, permission in _routes(web.asgi):
        if permission is None:
            continue
        reply = await c.request(method, _url(path))
        if path.startswith("/api/"):
            assert reply.status_code == 401, f"{method} {path}"
            assert reply.json()["error"]["code"] == "not_signed_in"
        else:
            assert reply.status_code == 303, f"{method} {path}"
            assert reply.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_gets_exactly_what_the_matrix_gives(web: WebHarness, role: Role) -> None:
    browser = await web.signed_in(role)
    script = web.api(role)
    for method, path, permission in _routes(web.asgi):
        if permission is None:
            continue
        client = script if path.startswith("/api/") else browser
        reply = await client.request(method, _url(path))
        if allows(role, permission):
            assert reply.status_code not in (401, 403), (
                f"{role} should reach {method} {path}: {reply.status_code} {reply.text[:200]}"
            )
            assert reply.status_code < 500, f"{method} {path}: {reply.status_code}"
        else:
            assert reply.status_code == 403, f"{role} must not reach {method} {path}"

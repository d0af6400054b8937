"""Debian's chromium driven by Playwright, shared by every browser test.

Locally the tests skip with a reason when chromium or Playwright is missing;
with ``CI=true`` they fail instead, so CI can never pass without running them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from servers import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: Installed before any page script: records every Content-Security-Policy violation.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def playwright_or_skip() -> Any:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not installed (apt-get install -y chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            reason = f"playwright not importable: {exc}"
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return sync_playwright


def launch_chromium() -> Iterator[Any]:
    """A headless chromium for the duration of the generator."""
    sync_playwright = playwright_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(asgi: Any) -> Iterator[str]:
    """Serve ``asgi`` with uvicorn on a free loopback port in a thread; yield its base URL.

    A real server, not an in-process transport: the browser talks HTTP to it, and the
    app's lifespan (a bot runtime, when it has one) runs as under ``shequn serve``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)

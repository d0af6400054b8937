"""``shequn bot``: the bot runtime alone, without the web app (a worker process)."""

from __future__ import annotations

import asyncio
import signal

from shequn.cli.common import console, open_app
from shequn.kit.errors import ConfigError
from shequn.runtime.bot import BotRuntime


async def _run(runtime: BotRuntime) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runtime.stop)
    await runtime.run()


def bot() -> None:
    """Run the configured adapters ([[adapters]] in shequn.toml) and the outbox dispatcher
    until interrupted."""
    with open_app() as app:
        app.check_schema()
        if not app.settings.adapters:
            raise ConfigError(
                "no adapters are configured: add an [[adapters]] table to shequn.toml "
                '(for example kind = "matrix", community = "…", homeserver = "…")'
            )
        runtime = app.bot_runtime()
        for entry in runtime.entries:
            console.print(
                f"{entry.name}: {entry.adapter.platform} for {entry.community.name}",
                markup=False,
                highlight=False,
            )
        asyncio.run(_run(runtime))

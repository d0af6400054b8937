"""One Synapse for the whole test session, its accounts, and the connected bot.

The accounts: ``bot`` (the account shequn runs), ``alice``, ``bob`` and ``carol``
(members), registered once with Chinese display names. Each test makes its own
rooms, so tests do not see each other's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from nio import AsyncClient

from adapters.matrix.support import NAMES, Account, Accounts, client_for, matrix_config
from matrix_server import Homeserver, start_or_skip
from shequn.adapters.matrix import MatrixAdapter
from shequn.kit.clock import FrozenClock


@pytest.fixture(scope="session")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    server = start_or_skip(tmp_path_factory.mktemp("synapse"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def accounts(homeserver: Homeserver) -> Accounts:
    made = {}
    for local, name in NAMES.items():
        user_id, token = homeserver.register(local, f"{local}-密码-1")
        reply = httpx.put(
            f"{homeserver.base_url}/_matrix/client/v3/profile/{user_id}/displayname",
            json={"displayname": name},
            headers={"Authorization": f"Bearer {token}"},
        )
        reply.raise_for_status()
        made[local] = Account(user_id, token, name)
    return Accounts(**made)


@pytest.fixture
async def people(
    homeserver: Homeserver, accounts: Accounts
) -> AsyncIterator[dict[str, AsyncClient]]:
    """Clients for the members (and one for the bot account, to set rooms up)."""
    clients = {
        "alice": client_for(homeserver, accounts.alice),
        "bob": client_for(homeserver, accounts.bob),
        "carol": client_for(homeserver, accounts.carol),
        "bot": client_for(homeserver, accounts.bot, device="SETUP"),
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.close()


@pytest.fixture
async def adapter(
    homeserver: Homeserver, accounts: Accounts, clock: FrozenClock
) -> AsyncIterator[MatrixAdapter]:
    """The bot account, connected, on the suite's frozen clock."""
    bot = MatrixAdapter(matrix_config(homeserver, accounts), clock=clock)
    await bot.connect()
    try:
        yield bot
    finally:
        await bot.disconnect()

"""The WeCom server API, through wechatpy's enterprise client.

wechatpy is synchronous (``requests``), so every call runs in a worker thread and
the event loop stays free. Every request, the token fetch included, goes to the
configured ``api_base``: the stock client fetches tokens from a fixed host, which
would leave the machine even when everything else points at a test server or a
forward proxy. With a configured ``access_token`` and no ``secret`` no token is ever
fetched; an expired one then fails with WeCom's own error instead of a silent retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from shequn.adapters.base import AdapterError
from shequn.adapters.wecom.config import WeComConfig

#: Pages of ``groupchat/list`` followed at most, so a server that keeps answering with
#: a cursor cannot keep a sync going for ever (1000 groups a page: a million groups).
MAX_PAGES = 1000
#: Groups asked for per ``groupchat/list`` page (WeCom's maximum).
PAGE_SIZE = 1000


class WeComApiError(AdapterError):
    """A WeCom API call that did not succeed: WeCom's ``errcode`` and ``errmsg`` when it
    answered, the HTTP status when the HTTP exchange failed, ``network`` when no
    answer came at all."""

    def __init__(
        self,
        endpoint: str,
        errcode: int | None,
        errmsg: str,
        *,
        status: int | None = None,
        network: bool = False,
        retry_after: float | None = None,
    ) -> None:
        where = f"WeCom {endpoint}"
        if errcode is not None:
            text = f"{where} failed: {errcode} {errmsg}"
        elif status is not None:
            text = f"{where} failed: HTTP {status} {errmsg}".rstrip()
        else:
            text = f"{where} failed: {errmsg}"
        super().__init__(text)
        self.endpoint = endpoint
        self.errcode = errcode
        self.errmsg = errmsg
        self.status = status
        self.network = network
        self.retry_after = retry_after


class _Client(WeChatClient):
    """wechatpy's enterprise client with the host taken from the configuration for
    every request, including the token fetch."""

    def __init__(
        self,
        api_base: str,
        corp_id: str,
        secret: str,
        access_token: str | None,
        http: requests.Session,
        timeout: float,
    ) -> None:
        self.API_BASE_URL = api_base
        # Refetching a token only makes sense when there is a secret to fetch it with.
        super().__init__(
            corp_id, secret, access_token=access_token, timeout=timeout, auto_retry=bool(secret)
        )
        self._http = http

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )


class WeComApi:
    """The calls the adapter makes. Each returns WeCom's JSON answer (``errcode`` 0) or
    raises ``WeComApiError``."""

    def __init__(self, config: WeComConfig, *, session: requests.Session | None = None) -> None:
        self._own_session = session is None
        self._http = session if session is not None else requests.Session()
        secret = config.secret.get_secret_value() if config.secret is not None else ""
        token = config.access_token.get_secret_value() if config.access_token else None
        self._client = _Client(
            config.api_base, config.corp_id, secret, token, self._http, config.timeout
        )

    def close(self) -> None:
        if self._own_session:
            self._http.close()

    async def post(self, endpoint: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``data`` as JSON to ``endpoint`` (relative to ``api_base``), for the
        endpoints wechatpy has no method for."""
        return await self._run(endpoint, self._client.post, endpoint, data=dict(data))

    async def _run(
        self, endpoint: str, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> dict:
        return await asyncio.to_thread(self._blocking, endpoint, call, *args, **kwargs)

    def _blocking(
        self, endpoint: str, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            answer = call(*args, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode is not None:
                raise WeComApiError(endpoint, int(exc.errcode), str(exc.errmsg or "")) from None
            response = exc.response
            raise WeComApiError(
                endpoint,
                None,
                response.reason if response is not None and response.reason else "",
                status=response.status_code if response is not None else None,
                retry_after=_retry_after(response),
            ) from None
        except requests.RequestException as exc:
            reason = str(exc) or type(exc).__name__
            raise WeComApiError(endpoint, None, reason, network=True) from None
        if not isinstance(answer, dict):
            raise WeComApiError(endpoint, None, "the answer was not a JSON object")
        return answer

    async def group_ids(self) -> list[str]:
        """Every customer group the app can see, following ``next_cursor`` page by page."""
        endpoint = "externalcontact/groupchat/list"
        groups = self._client.external_contact_group_chat
        ids: list[str] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            answer = await self._run(
                endpoint, groups.list, status_filter=0, cursor=cursor, limit=PAGE_SIZE
            )
            chats = answer.get("group_chat_list") or []
            if not isinstance(chats, list):
                raise WeComApiError(endpoint, None, "group_chat_list is not a list")
            for chat in chats:
                chat_id = chat.get("chat_id") if isinstance(chat, Mapping) else None
                if not isinstance(chat_id, str) or not chat_id:
                    raise WeComApiError(endpoint, None, f"a group without chat_id: {chat!r}")
                ids.append(chat_id)
            cursor = answer.get("next_cursor") or None
            if not isinstance(cursor, str) or cursor in seen_cursors:
                break
            seen_cursors.add(cursor)
        return list(dict.fromkeys(ids))

    async def group_detail(self, chat_id: str) -> Any:
        """The ``group_chat`` object of one group. A raw post: wechatpy's ``get`` does
        not ask for member names (``need_name``)."""
        answer = await self.post(
            "externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1}
        )
        return answer.get("group_chat")

    async def add_msg_template(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a mass-send task (企业群发); its owner confirms it in the client."""
        return await self._run(
            "externalcontact/add_msg_template",
            self._client.external_contact.add_msg_template,
            dict(body),
        )


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None

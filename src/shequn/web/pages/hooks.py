"""``/hooks/wecom/{name}``: where WeCom delivers the callbacks of the adapter ``name``.

Public by necessity — WeCom signs and encrypts every callback instead — so the
adapter checks the signature and decrypts before anything is read; a request that
fails is refused with 403 and queues nothing. The adapter must run in this process
(``shequn serve`` with the adapter configured).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from shequn.adapters.wecom import CallbackRejected, WeComAdapter
from shequn.web.auth import Public
from shequn.web.context import web_of
from shequn.web.errors import NotFound, WebError

router = APIRouter(include_in_schema=False)
Param = Annotated[str, Query(max_length=512)]


class Refused(WebError):
    status = 403
    code = "callback_refused"


def _adapter(request: Request, name: str) -> WeComAdapter:
    runtime = web_of(request).runtime
    adapter = runtime.adapter(name) if runtime is not None else None
    if not isinstance(adapter, WeComAdapter):
        raise NotFound(f"no WeCom adapter named {name!r} runs in this process")
    return adapter


@router.get("/hooks/wecom/{name}")
def verify(
    request: Request,
    name: str,
    _: Public,
    msg_signature: Param,
    timestamp: Param,
    nonce: Param,
    echostr: Annotated[str, Query(max_length=4096)],
) -> Response:
    adapter = _adapter(request, name)
    try:
        return PlainTextResponse(adapter.verify_callback(msg_signature, timestamp, nonce, echostr))
    except CallbackRejected as exc:
        raise Refused(str(exc)) from None


@router.post("/hooks/wecom/{name}")
async def receive(
    request: Request,
    name: str,
    _: Public,
    msg_signature: Param,
    timestamp: Param,
    nonce: Param,
) -> Response:
    adapter = _adapter(request, name)
    body = await request.body()
    try:
        await adapter.handle_callback(msg_signature, timestamp, nonce, body)
    except CallbackRejected as exc:
        raise Refused(str(exc)) from None
    return PlainTextResponse("")

"""The live log websocket: only the function's own account may listen, and it only forwards."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.auth import AuthMiddlewareStack
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings

from console.realtime import log_group
from console.routing import websocket_urlpatterns

from .conftest import python_function

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine_function, *args):
    """Run a coroutine on its own loop in another thread: the browser tests may keep an event
    loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function(*args))).result()


def _app():
    return AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def _cookie_for(client) -> list[tuple[bytes, bytes]]:
    name = settings.SESSION_COOKIE_NAME
    return [(b"cookie", f"{name}={client.cookies[name].value}".encode())]


async def _connect(path: str, headers):
    communicator = WebsocketCommunicator(_app(), path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


def test_owner_receives_log_lines(alice_client, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="streamed")
    line = {"request_id": "r1", "log_stream": "s", "timestamp": 1, "message": "<script>alert(1)</script>"}

    async def scenario():
        communicator, connected, _ = await _connect(f"/ws/functions/{fn.name}/logs", _cookie_for(alice_client))
        assert connected
        await get_channel_layer().group_send(log_group(alice_account.account_id, fn.name),
                                             {"type": "log.lines", "lines": [line]})
        message = await communicator.receive_json_from(timeout=3)
        await communicator.disconnect()
        return message

    assert run(scenario) == {"type": "lines", "lines": [line]}


def test_outsider_and_anonymous_cannot_stream(charlie_client, alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="private")

    async def scenario(headers):
        communicator, connected, code = await _connect(f"/ws/functions/{fn.name}/logs", headers)
        return connected, code

    assert run(scenario, _cookie_for(charlie_client)) == (False, 4404)
    assert run(scenario, []) == (False, 4404)

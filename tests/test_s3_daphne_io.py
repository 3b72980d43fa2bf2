"""Large request bodies reach the app from Twisted's temporary file as it asks (console/s3/wire/daphne_io.py).

Daphne's own loop is reproduced here (http_protocol.WebRequest.process: read `buffer_size`,
queue it, stop at the first short chunk), fed by the lazy file, read back through the queue.
The end-to-end check with a real Daphne is tests/test_s3_large.py.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import threading

from console.s3.wire.daphne_io import LAZY_CHUNK, LazyBodyQueue, LazyContent


def daphne_fill(content, queue: asyncio.Queue, buffer_size: int = 8192) -> None:
    while True:  # as daphne 4.2's WebRequest.process
        chunk = content.read(buffer_size)
        more_body = not (len(chunk) < buffer_size)
        queue.put_nowait({"type": "http.request", "body": chunk, "more_body": more_body})
        if not more_body:
            break


async def receive_all(queue: asyncio.Queue) -> tuple[bytes, list[dict]]:
    messages = []
    while True:
        message = await queue.get()
        messages.append(message)
        if message["type"] != "http.request" or not message["more_body"]:
            return b"".join(m.get("body", b"") for m in messages), messages


def run_apart(scenario):
    """asyncio.run on a thread of its own: an earlier test (a browser's) may leave a loop running here."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    thread.start()
    thread.join()
    assert result, "the scenario raised (see the thread's traceback above)"
    return result[0]


def test_a_large_body_arrives_whole_and_in_order_while_the_queue_holds_references():
    data = os.urandom(2 * LAZY_CHUNK + 90_000)
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.seek(0)

        async def scenario():
            queue = LazyBodyQueue()
            daphne_fill(LazyContent(file), queue)
            queued = [len(m["body"]) for m in list(queue._queue)]
            assert all(not isinstance(m["body"], bytes) for m in list(queue._queue)[:-1])
            body, messages = await receive_all(queue)
            return queued, body, messages

        queued, body, messages = run_apart(scenario)
    assert queued == [LAZY_CHUNK, LAZY_CHUNK, 90_000, 0]
    assert body == data
    assert all(isinstance(m["body"], bytes) for m in messages)
    assert [m["more_body"] for m in messages] == [True, True, True, False]


def test_a_body_whose_request_is_gone_reads_as_a_disconnect():
    with tempfile.TemporaryFile() as file:
        file.write(os.urandom(LAZY_CHUNK * 2))
        file.seek(0)

        async def scenario():
            queue = LazyBodyQueue()
            daphne_fill(LazyContent(file), queue)
            first = await queue.get()
            file.close()  # Twisted's cleanup after the connection was lost
            return first, await queue.get()

        first, second = run_apart(scenario)
    assert len(first["body"]) == LAZY_CHUNK
    assert second == {"type": "http.disconnect"}

"""Large bodies through Daphne without holding them in memory, in and out.

In: Twisted writes a request body over 100 KB to a temporary file, and Daphne (4.2) then reads
the whole file back into its application queue at once, before the app asks for any of it: a
100 MB PUT put 100 MB in the server's memory. `install` makes that file's chunks lazy: the
queue holds (offset, length) references, and each is read from the file (os.pread) when the
app receives it, so memory holds what the app has not yet written out, not the whole body.

Out: Daphne writes each response chunk to Twisted's transport, which buffers whatever the
socket cannot take yet; an app reading a blob from disk faster than the client downloads would
buffer the whole object. `Pacer` registers as the request's streaming producer (Twisted's
IPushProducer: the transport pauses it when its buffer passes 64 KB and resumes it when the
buffer drains), and send_response waits while paused.

Both reach into Daphne's objects (`send` is `partial(server.handle_reply, protocol)`); under
another ASGI server they do nothing and the app works as before, without the bounds.
"""
from __future__ import annotations

import asyncio
import io
import logging
import os
from typing import Any

log = logging.getLogger(__name__)
LAZY_CHUNK = 256 * 1024  # bytes per queued request-body message (Daphne's own is 8 KB)


class LazyChunk:
    """A part of a request body still in Twisted's temporary file. Daphne only takes its len()."""

    __slots__ = ("file", "offset", "length")

    def __init__(self, file: Any, offset: int, length: int) -> None:
        self.file, self.offset, self.length = file, offset, length

    def __len__(self) -> int:
        return self.length

    def read(self) -> bytes | None:
        """The bytes, or None when the request (and its file) is gone."""
        if self.file.closed:
            return None
        data = os.pread(self.file.fileno(), self.length, self.offset)
        return data if len(data) == self.length else None


class LazyContent:
    """Twisted's temporary file as Daphne reads it to fill the queue: references, not bytes."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._offset = file.tell()
        self._end = os.fstat(file.fileno()).st_size

    def read(self, size: int = -1):
        if size is None or size < 0:  # everything at once (a WebSocket upgrade's re-injection)
            self._file.seek(self._offset)
            self._offset = self._end
            return self._file.read()
        length = min(self._end - self._offset, max(size, LAZY_CHUNK))
        # Daphne ends the body at the first chunk shorter than its buffer: a short tail is fine.
        chunk = LazyChunk(self._file, self._offset, length) if length else b""
        self._offset += length
        return chunk

    def __getattr__(self, name: str):
        return getattr(self._file, name)


class LazyBodyQueue(asyncio.Queue):
    """Daphne's application queue, whose messages' lazy bodies are read when the app takes them."""

    def _get(self):
        message = super()._get()
        if isinstance(message, dict) and isinstance(message.get("body"), LazyChunk):
            data = message["body"].read()
            if data is None:
                return {"type": "http.disconnect"}
            message = {**message, "body": data}
        return message


def install() -> None:
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
    except ImportError:  # not served by Daphne
        return
    if getattr(WebRequest, "lazy_bodies", False):
        return
    original_process = WebRequest.process
    original_create = Server.create_application

    def process(self):
        content = getattr(self, "content", None)
        if content is not None and not isinstance(content, io.BytesIO) and hasattr(content, "fileno"):
            try:
                self.content = LazyContent(content)
            except (OSError, ValueError):  # not a real file after all: Daphne's way
                pass
        return original_process(self)

    def create_application(self, protocol, scope):
        queue = original_create(self, protocol, scope)
        if type(queue) is asyncio.Queue:
            # `receive` is already bound to this queue's get(), which looks `_get` up on the class.
            queue.__class__ = LazyBodyQueue
        return queue

    WebRequest.process = process
    WebRequest.lazy_bodies = True
    Server.create_application = create_application


class Pacer:
    """Back-pressure for one response: `await pacer.ready()` returns once Twisted can take more."""

    def __init__(self, send) -> None:
        self._request = None
        self._ready = asyncio.Event()
        self._ready.set()
        self.stopped = False
        request = (getattr(send, "args", None) or (None,))[0]
        if request is None or not hasattr(request, "registerProducer") or getattr(request, "producer", True):
            return  # not Daphne's request, or one with a producer already
        try:
            request.registerProducer(self, True)
        except (RuntimeError, ValueError, AttributeError):
            return
        self._request = request
        if getattr(getattr(request, "channel", None), "_waitingForTransport", False):
            self._ready.clear()

    # Twisted's IPushProducer, called on the reactor's (the event loop's) thread.
    def pauseProducing(self) -> None:
        self._ready.clear()

    def resumeProducing(self) -> None:
        self._ready.set()

    def stopProducing(self) -> None:
        self.stopped = True
        self._ready.set()

    async def ready(self) -> None:
        await self._ready.wait()

    def close(self) -> None:
        """Unregister (before the last chunk finishes the request: the channel allows one producer)."""
        request, self._request = self._request, None
        if request is not None:
            try:
                request.unregisterProducer()
            except Exception:  # noqa: BLE001 - the connection is gone: nothing to unregister from
                log.debug("unregisterProducer failed", exc_info=True)

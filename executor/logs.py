"""Log lines: reading a container's output stream, and AWS's START/END/REPORT lines."""
from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Callable, Iterator

# Our Python and Node bootstraps write this after an invocation's output and before they
# answer; once it is read, every line of that invocation has arrived.
SENTINEL_RE = re.compile(rb"\x1e\x1eLAMBDA-END ([0-9a-f-]{36})\x1e\x1e\n")
MAX_LINE = 256 * 1024  # CloudWatch Logs cuts events at 256 KB


def read_frames(sock: socket.socket) -> Iterator[bytes]:
    """Payloads of Docker's multiplexed attach stream (8-byte header, then the data)."""
    buffer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 8:
            size = struct.unpack(">I", buffer[4:8])[0]
            if len(buffer) < 8 + size:
                break
            yield buffer[8:8 + size]
            buffer = buffer[8 + size:]


class LineSplitter:
    """Turns chunks of output into lines and end markers, in the order they were written."""

    def __init__(self, on_line: Callable[[str], None], on_end: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.on_end = on_end
        self.pending = b""

    def feed(self, data: bytes) -> None:
        data = self.pending + data
        self.pending = b""
        position = 0
        for match in SENTINEL_RE.finditer(data):
            self._lines(data[position:match.start()], final=True)
            self.on_end(match.group(1).decode())
            position = match.end()
        rest = data[position:]
        # Keep back a tail that might be the start of a marker cut between two reads.
        marker_start = rest.rfind(b"\x1e")
        if marker_start != -1 and len(rest) - marker_start < 64:
            self._lines(rest[:marker_start], final=False)
            self.pending += rest[marker_start:]
        else:
            self._lines(rest, final=False)

    def _lines(self, data: bytes, final: bool) -> None:
        data = self.pending + data
        self.pending = b""
        *complete, tail = data.split(b"\n")
        for line in complete:
            self._emit(line)
        if final:
            if tail:
                self._emit(tail)
        elif len(tail) > MAX_LINE:
            self._emit(tail)
        else:
            self.pending = tail

    def flush(self) -> None:
        if self.pending:
            line, self.pending = self.pending, b""
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        self.on_line(line.rstrip(b"\r").decode("utf-8", errors="replace"))


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, billed_ms: int, memory_size: int,
                max_memory_mb: int | None, init_ms: float | None) -> str:
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {max_memory_mb if max_memory_mb is not None else 0} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(parts) + "\t"


def timeout_line(request_id: str, timeout_s: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return f"{stamp}.{int(time.time() * 1000) % 1000:03d}Z {request_id} Task timed out after {timeout_s:.2f} seconds"


def tail(lines: list[str], limit: int = 4096) -> str:
    """The last `limit` bytes of an invocation's log, as LogType=Tail returns."""
    text = "".join(line + "\n" for line in lines).encode()
    return text[-limit:].decode("utf-8", errors="ignore")

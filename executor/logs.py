"""Log lines: reading a container's output stream, and AWS's START/END/REPORT lines."""
from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Callable, Iterator

from console.limits import LOG_EVENT_BYTES

# Our Python and Node bootstraps write this after an invocation's output and before they
# answer; once it is read, every line of that invocation has arrived.
SENTINEL_RE = re.compile(rb"\x1e\x1eLAMBDA-END ([0-9a-f-]{36})\x1e\x1e\n")
# CloudWatch Logs takes events of at most 256 KB, counting 26 bytes of overhead each
# (PutLogEvents API reference); Lambda splits a longer line into events of 2^18 - 26 bytes.
EVENT_OVERHEAD = 26
MAX_EVENT = LOG_EVENT_BYTES - EVENT_OVERHEAD
# What one invocation keeps: PutLogEvents' 10,000 events per batch, and a byte budget
# (LAMBDA_MAX_LOG_BYTES_PER_INVOCATION) counted as CloudWatch counts a batch.
MAX_LINES_PER_INVOCATION = 10_000
DEFAULT_MAX_LOG_BYTES = 2 * 1024 * 1024


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
            return
        # A line still open is held back only up to one event's size: a function that
        # writes without a newline cannot grow the reader's buffer.
        while len(tail) > MAX_EVENT:
            cut = _utf8_cut(tail, MAX_EVENT)
            self._emit(tail[:cut])
            tail = tail[cut:]
        self.pending = tail

    def flush(self) -> None:
        if self.pending:
            line, self.pending = self.pending, b""
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        for piece in split_message(line.rstrip(b"\r").decode("utf-8", errors="replace")):
            self.on_line(piece)


def _utf8_cut(data: bytes, limit: int) -> int:
    """An index <= limit that does not fall inside a UTF-8 sequence (if the data is UTF-8)."""
    cut = limit
    for _ in range(3):
        if cut >= len(data) or data[cut] & 0xC0 != 0x80:
            break
        cut -= 1
    return cut


def split_message(text: str) -> list[str]:
    """A line as CloudWatch events: pieces of at most MAX_EVENT bytes of UTF-8, in order."""
    if len(text) * 4 <= MAX_EVENT:
        return [text]
    data = text.encode()
    if len(data) <= MAX_EVENT:
        return [text]
    pieces = []
    start = 0
    while start < len(data):
        end = start + _utf8_cut(data[start:start + MAX_EVENT + 4], MAX_EVENT)
        pieces.append(data[start:end].decode())
        start = end
    return pieces


class LogBuffer:
    """One invocation's log lines, bounded.

    The function's own lines are kept until the budget is spent (bytes counted as
    CloudWatch counts them, or MAX_LINES_PER_INVOCATION lines); every later one is dropped
    and only counted, so a function that prints without end costs the worker, Redis and the
    database a bounded amount. The platform's lines (START, END, REPORT, errors) are always kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_LOG_BYTES, max_lines: int = MAX_LINES_PER_INVOCATION) -> None:
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.lines: list[tuple[int, str]] = []
        self.size = 0
        self.kept = 0
        self.dropped = 0
        self.over = ""  # which bound was passed

    def add(self, stamp: int, message: str) -> bool:
        """Keep one line of the function's output if the budget allows; False if dropped."""
        if not self.dropped:  # once dropping, every later line goes too: no gaps in what is kept
            cost = (len(message) if message.isascii() else len(message.encode())) + EVENT_OVERHEAD
            if self.kept >= self.max_lines:
                self.over = f"{self.max_lines} lines"
            elif self.size + cost > self.max_bytes:
                self.over = _size(self.max_bytes)
            else:
                self.lines.append((stamp, message))
                self.size += cost
                self.kept += 1
                return True
        self.dropped += 1
        return False

    def add_platform(self, stamp: int, message: str) -> None:
        self.lines.append((stamp, message))

    def drop_notice(self) -> str | None:
        if not self.dropped:
            return None
        return f"[lambda] {self.dropped} log lines dropped: output over {self.over}"


def _size(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MB"
    if count % 1024 == 0:
        return f"{count // 1024} KB"
    return f"{count} bytes"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, billed_ms: int, memory_size: int,
                max_memory_mb: int | None, init_ms: float | None) -> str:
    """AWS's REPORT line. A peak memory that could not be measured (no cgroup found) is left
    out, as the invocation's row leaves it empty: 0 MB would be a measurement it is not."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_size} MB",
    ]
    if max_memory_mb is not None:
        parts.append(f"Max Memory Used: {max_memory_mb} MB")
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

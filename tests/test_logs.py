"""Reading a container's output into lines, and AWS's log line formats."""
from __future__ import annotations

import struct

from executor import logs
from executor.containers import Exit

RID = "6f7f0961-2b1e-4c3d-9a8b-0123456789ab"
MARK = f"\x1e\x1eLAMBDA-END {RID}\x1e\x1e\n".encode()


def split(chunks: list[bytes]) -> list[str]:
    events: list[str] = []
    splitter = logs.LineSplitter(events.append, lambda rid: events.append(f"<end {rid}>"))
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.flush()
    return events


def test_lines_then_end_marker():
    assert split([b"one\ntwo\n" + MARK]) == ["one", "two", f"<end {RID}>"]


def test_a_line_without_newline_is_closed_by_the_marker():
    assert split([b"no newline" + MARK]) == ["no newline", f"<end {RID}>"]


def test_marker_cut_across_reads_is_still_found():
    data = b"a\n" + MARK + b"b\n"
    for cut in range(1, len(data)):
        assert split([data[:cut], data[cut:]]) == ["a", f"<end {RID}>", "b"], cut


def test_invalid_utf8_is_replaced_not_fatal():
    assert split([b"caf\xe9\n"]) == ["caf\ufffd"]


def test_docker_frames_are_unwrapped():
    class FakeSocket:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def recv(self, size: int) -> bytes:
            chunk, self.data = self.data[:3], self.data[3:]  # tiny reads: frames cut anywhere
            return chunk

    payloads = [b"hello\n", b"", b"world\n"]
    stream = b"".join(struct.pack(">BxxxI", 1, len(p)) + p for p in payloads)
    assert list(logs.read_frames(FakeSocket(stream))) == payloads


def test_report_line_is_in_aws_form():
    line = logs.report_line(RID, 12.3456, 13, 128, 38, 116.521)
    assert line == (f"REPORT RequestId: {RID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 38 MB\tInit Duration: 116.52 ms\t")
    warm = logs.report_line(RID, 1.0, 1, 256, 40, None)
    assert "Init Duration" not in warm and warm.endswith("Max Memory Used: 40 MB\t")


def test_start_and_end_lines():
    assert logs.start_line(RID, "$LATEST") == f"START RequestId: {RID} Version: $LATEST"
    assert logs.end_line(RID) == f"END RequestId: {RID}"


def test_tail_is_the_last_4_kb():
    lines = [f"line {i}" for i in range(1000)]
    tail = logs.tail(lines)
    assert len(tail.encode()) <= 4096 and tail.endswith("line 999\n")


def test_exit_descriptions_use_gos_wording():
    assert Exit(137, False).describe() == "signal: killed"
    assert Exit(0, True).describe() == "signal: killed"
    assert Exit(139, False).describe() == "signal: segmentation fault"
    assert Exit(3, False).describe() == "exit status 3"

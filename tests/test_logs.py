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


# --- Bounded output (issue 8, hole 6) ------------------------------------------------------
# CloudWatch Logs: "Each log event can be no larger than 256 KB", counting 26 bytes of
# overhead per event (PutLogEvents, CloudWatch Logs API Reference); Lambda splits a longer
# line into events of 2^18 - 26 bytes.

def test_a_line_over_256_kb_is_split_into_cloudwatch_sized_events():
    line = ("0123456789" * 100_000)  # 1 MB
    events = split([line.encode() + b"\n"])
    assert len(events) == 4 and "".join(events) == line
    assert all(len(event.encode()) <= 256 * 1024 - 26 for event in events)


def test_an_endless_line_without_newline_is_emitted_in_pieces_as_it_comes():
    events: list[str] = []
    splitter = logs.LineSplitter(events.append, lambda rid: None)
    for _ in range(200):
        splitter.feed(b"y" * 10_000)  # 2 MB, never a newline
    assert len(splitter.pending) <= logs.MAX_EVENT
    assert sum(len(e) for e in events) + len(splitter.pending) == 2_000_000
    assert all(len(e) <= logs.MAX_EVENT for e in events)


def test_multibyte_characters_are_never_cut_in_half():
    text = "é" * 200_000 + "€" * 100_000  # 700 KB of 2- and 3-byte characters
    pieces = logs.split_message(text)
    assert "".join(pieces) == text and all(len(p.encode()) <= logs.MAX_EVENT for p in pieces)


def test_an_invocation_keeps_its_output_up_to_the_budget_then_counts_what_it_drops():
    buffer = logs.LogBuffer(max_bytes=64 * 1024)
    kept = sum(buffer.add(i, "x" * 1000) for i in range(1000))
    assert kept == 64 * 1024 // 1026
    buffer.add_platform(0, "END RequestId: x")  # the platform's lines are always kept
    assert buffer.lines[-1] == (0, "END RequestId: x")
    assert buffer.drop_notice() == f"[lambda] {1000 - kept} log lines dropped: output over 64 KB"


def test_an_invocation_keeps_at_most_10000_lines():
    buffer = logs.LogBuffer()
    for i in range(12_000):
        buffer.add(i, "")
    assert len(buffer.lines) == 10_000
    assert buffer.drop_notice() == "[lambda] 2000 log lines dropped: output over 10000 lines"


def test_nothing_dropped_means_no_notice():
    buffer = logs.LogBuffer()
    buffer.add(0, "hello")
    assert buffer.drop_notice() is None


def test_the_live_log_queue_drops_and_counts_instead_of_growing():
    from console.realtime import LineQueue

    queue = LineQueue(max_lines=100, max_bytes=1024 * 1024)
    for i in range(250):
        queue.put("logs.1.f", {"message": f"line {i}"})
    queue.put("logs.1.g", {"message": "g"})
    batch, dropped = queue.take(1000)
    assert [line["message"] for _, line in batch] == [f"line {i}" for i in range(100)]
    assert dropped == {"logs.1.f": 150, "logs.1.g": 1}
    big = {"message": "z" * 400_000}
    assert queue.put("logs.1.f", big) and queue.put("logs.1.f", big) and not queue.put("logs.1.f", big)

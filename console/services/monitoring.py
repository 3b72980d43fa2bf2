"""Metrics for the Monitor tab, computed from Invocation rows as CloudWatch would chart them."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ..models import Function, Invocation

# period -> (span, bucket width)
PERIODS: dict[str, tuple[dt.timedelta, dt.timedelta]] = {
    "1h": (dt.timedelta(hours=1), dt.timedelta(minutes=1)),
    "3h": (dt.timedelta(hours=3), dt.timedelta(minutes=5)),
    "12h": (dt.timedelta(hours=12), dt.timedelta(minutes=15)),
    "1d": (dt.timedelta(days=1), dt.timedelta(minutes=30)),
    "1w": (dt.timedelta(weeks=1), dt.timedelta(hours=3)),
}
DONE = (Invocation.Status.SUCCEEDED, Invocation.Status.FAILED)


def function_metrics(function: Function, period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per-bucket series: invocations, errors, throttles, success rate, duration avg/max, concurrency."""
    span, width = PERIODS[period]
    now = now or timezone.now()
    count = int(span / width)
    # Buckets end at the next boundary after now, so the newest one holds the latest calls.
    end = dt.datetime.fromtimestamp((now.timestamp() // width.total_seconds() + 1) * width.total_seconds(),
                                    tz=dt.timezone.utc)
    start = end - width * count
    rows = list(Invocation.objects.filter(function=function, started__gte=start - dt.timedelta(minutes=15))
                .values_list("started", "status", "duration_ms", "finished"))
    invocations = [0] * count
    errors = [0] * count
    throttles = [0] * count
    durations: list[list[float]] = [[] for _ in range(count)]
    edges: list[tuple[dt.datetime, int]] = []  # +1 at each start, -1 at each end
    for started, status, duration, finished in rows:
        if status in DONE or status == Invocation.Status.RUNNING:
            stop = finished or (started + dt.timedelta(milliseconds=duration) if duration else now)
            edges += [(started, 1), (max(stop, started), -1)]
        if started < start:
            continue
        index = min(int((started - start) / width), count - 1)
        if status == Invocation.Status.THROTTLED:
            throttles[index] += 1
            continue
        if status not in DONE:
            continue
        invocations[index] += 1
        if status == Invocation.Status.FAILED:
            errors[index] += 1
        if duration is not None:
            durations[index].append(duration)
    concurrency = [0] * count
    running = 0
    for moment, delta in sorted(edges, key=lambda edge: (edge[0], -edge[1])):
        running += delta
        if moment >= start and delta > 0:
            index = min(int((moment - start) / width), count - 1)
            concurrency[index] = max(concurrency[index], running)
    return {
        "period": period,
        "labels": [(start + width * i).isoformat() for i in range(count)],
        "invocations": invocations,
        "errors": errors,
        "throttles": throttles,
        "success_rate": [round(100 * (n - e) / n, 2) if n else None for n, e in zip(invocations, errors)],
        "duration_avg": [round(sum(d) / len(d), 2) if d else None for d in durations],
        "duration_max": [round(max(d), 2) if d else None for d in durations],
        "concurrent_executions": concurrency,
        "totals": {"invocations": sum(invocations), "errors": sum(errors), "throttles": sum(throttles)},
    }

"""The stored log history of a function: its log streams and their events."""
from __future__ import annotations

import uuid

from django.db.models import Count, Max, Min, QuerySet

from .. import validators
from ..models import Function, LogEvent


def log_streams(function: Function) -> QuerySet:
    """One row per log stream (execution environment), newest first."""
    return (LogEvent.objects.filter(function=function).values("log_stream_name")
            .annotate(first=Min("timestamp"), last=Max("timestamp"), events=Count("id"))
            .order_by("-last"))


def log_events(function: Function, *, stream: str = "", text: str = "", request_id: str = "") -> QuerySet:
    """Events of one stream, or of all streams, filtered by text and request id; newest first."""
    events = LogEvent.objects.filter(function=function)
    if stream:
        events = events.filter(log_stream_name=stream)
    if text:
        events = events.filter(message__icontains=text)
    if request_id:
        try:
            events = events.filter(request_id=uuid.UUID(request_id))
        except ValueError:
            events = events.none()
    return events.order_by("-timestamp", "-sequence")


def function_set_log_retention(function: Function, days: object) -> Function:
    """Keep the function's log lines `days` days (CloudWatch's values), or forever with None.

    Housekeeping (console/services/retention.py) deletes what is older; like CloudWatch,
    it does so some time after the lines expire, not at the instant they do.
    """
    function.log_retention_days = validators.validate_log_retention(days)
    function.save(update_fields=["log_retention_days"])
    return function


def retention_label(days: int | None) -> str:
    """How CloudWatch's console names a retention: "Never expire", "1 week", "18 months"..."""
    return dict(LOG_RETENTION_CHOICES).get("" if days is None else str(days), f"{days} days")


# CloudWatch console's names for its retention values, in the same order.
_RETENTION_NAMES = ("1 day", "3 days", "5 days", "1 week", "2 weeks", "1 month", "2 months", "3 months",
                    "4 months", "5 months", "6 months", "12 months", "13 months", "18 months", "2 years",
                    "3 years", "5 years", "6 years", "7 years", "8 years", "9 years", "10 years")
LOG_RETENTION_CHOICES: list[tuple[str, str]] = [("", "Never expire")] + [
    (str(days), name) for days, name in zip(validators.LOG_RETENTION_DAYS, _RETENTION_NAMES, strict=True)]

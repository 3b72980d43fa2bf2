"""The stored log history of a function: its log streams and their events."""
from __future__ import annotations

import uuid

from django.db.models import Count, Max, Min, QuerySet

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

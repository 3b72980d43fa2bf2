"""The live log viewer and the stored log history of a function."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..forms import LogSearchForm
from ..services.logs import log_events, log_streams, retention_label
from .base import function_context, owned_function

STREAMS_PER_PAGE = 20
EVENTS_PER_PAGE = 100


@login_required
@require_GET
def logs_page(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = LogSearchForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    stream, text, request_id = (filters.get("stream") or "", filters.get("q") or "",
                                (filters.get("request_id") or "").strip())
    page_number = filters.get("page") or 1
    searching = bool(stream or text or request_id)
    context = function_context(request, function, "logs", form=form, searching=searching,
                               stream=stream, text=text, request_id=request_id,
                               retention=retention_label(function.log_retention_days))
    if searching:
        context["events"] = Paginator(log_events(function, stream=stream, text=text, request_id=request_id),
                                      EVENTS_PER_PAGE).get_page(page_number)
    else:
        context["streams"] = Paginator(log_streams(function), STREAMS_PER_PAGE).get_page(page_number)
    return render(request, "console/function/logs.html", context)

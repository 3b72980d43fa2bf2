"""The Monitor tab: charts of the function's invocations and the most recent ones."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..forms import PeriodForm
from ..models import Invocation
from ..services.monitoring import PERIODS, function_metrics
from .base import function_context, owned_function


@login_required
@require_GET
def monitor_tab(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    recent = Invocation.objects.filter(function=function).recent()[:25]
    return render(request, "console/function/monitor.html",
                  function_context(request, function, "monitor", recent=recent, periods=list(PERIODS)))


@login_required
@require_GET
def monitor_metrics(request: HttpRequest, name: str) -> JsonResponse:
    function = owned_function(request, name)
    form = PeriodForm(request.GET)
    period = (form.cleaned_data["period"] if form.is_valid() else "") or "1h"
    return JsonResponse(function_metrics(function, period))

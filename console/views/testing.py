"""The Test tab: saved test events and invoking the function with one."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from executor.invoke import invoke

from ..errors import LambdaError
from ..forms import InvokeForm, TestEventForm, add_service_error, pretty_json
from ..services.saved_events import (event_templates, parse_event_json, test_event_delete, test_event_get,
                                    test_event_save, test_events_for)
from .base import function_context, owned_function


def _qualifiers(function) -> list[str]:
    return (["$LATEST"] + [str(v.number) for v in function.versions.order_by("-number")]
            + [a.name for a in function.aliases.all()])


@login_required
def test_tab(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    events = test_events_for(function, request.user)
    selected = None
    if request.method == "POST":
        form = TestEventForm(request.POST)
        if form.is_valid():
            try:
                event = test_event_save(function, request.user, form.cleaned_data["name"],
                                        form.cleaned_data["body"], form.cleaned_data["shareable"])
            except LambdaError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"The test event {event.name} was successfully saved.")
                return redirect(f"{reverse('function-test', args=[function.name])}?event={event.name}")
        status = 400
    else:
        status = 200
        chosen = request.GET.get("event", "")
        selected = next((e for e in events if e.name == chosen), None) or (events[0] if events else None)
        if selected is not None:
            form = TestEventForm(initial={"name": selected.name, "body": selected.body,
                                          "shareable": selected.shareable})
        else:
            form = TestEventForm(initial={"name": "", "body": event_templates()["hello-world"]})
    context = function_context(request, function, "test", form=form, events=events, selected=selected,
                               templates=event_templates(), qualifiers=_qualifiers(function))
    return render(request, "console/function/test.html", context, status=status)


@login_required
@require_POST
def test_event_delete_view(request: HttpRequest, name: str, event: str) -> HttpResponse:
    function = owned_function(request, name)
    try:
        test_event_delete(function, request.user, event)
    except LambdaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The test event {event} was deleted.")
    return redirect("function-test", name=function.name)


@login_required
@require_POST
def test_invoke(request: HttpRequest, name: str) -> HttpResponse:
    """Invoke synchronously and answer the execution result panel (an HTML fragment)."""
    function = owned_function(request, name)
    form = InvokeForm(request.POST)
    context: dict = {"function": function}
    status = 200
    if not form.is_valid():
        context["error"], status = "The request is not valid.", 400
    else:
        try:
            if form.cleaned_data["event"]:
                body = test_event_get(function, request.user, form.cleaned_data["event"]).body
                context["event_name"] = form.cleaned_data["event"]
            else:
                body = form.cleaned_data["body"]
            parse_event_json(body)
            result = invoke(function, body or "{}", "RequestResponse", log_type="Tail",
                            qualifier=form.cleaned_data["qualifier"] or None, source="console")
        except LambdaError as exc:
            context["error"], status = exc.message, 400 if exc.status < 500 else 502
        else:
            context["result"] = result
            context["response"] = pretty_json(result.payload.decode(errors="replace"))
    return render(request, "console/function/_execution_result.html", context, status=status)

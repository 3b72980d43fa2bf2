"""What every view needs: the caller's account and their functions, nothing else."""
from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject

from ..errors import ResourceNotFound
from ..models import Account, Function
from ..services.accounts import account_for_user
from ..services.functions import function_get
from ..services.triggers import function_overview


def account_of(request: HttpRequest) -> Account:
    if not hasattr(request, "_console_account"):
        request._console_account = account_for_user(request.user)
    return request._console_account


def owned_function(request: HttpRequest, name: str) -> Function:
    """The caller's function by name; any other account's function is a 404."""
    try:
        return function_get(account_of(request), name)
    except ResourceNotFound:
        raise Http404("Function not found")


def function_context(request: HttpRequest, function: Function, tab: str, **extra) -> dict:
    """Context for a page of the function view (overview and tabs)."""
    # The overview diagram is on every tab; SimpleLazyObject queries only when it is drawn.
    overview = SimpleLazyObject(lambda: function_overview(function))
    return {"function": function, "tab": tab, "overview": overview, **extra}


def posted(request: HttpRequest):
    """A POST's form data, even when empty (`request.POST or None` would show an empty post as
    a fresh form, without its errors); None for any other method."""
    return request.POST if request.method == "POST" else None

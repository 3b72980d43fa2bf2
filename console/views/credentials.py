"""The Security credentials page: the user's access keys for the Lambda API."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import ResourceNotFound
from ..models import AccessKey
from ..services.access_keys import (access_key_create, access_key_delete, access_key_get, access_key_set_active,
                                    access_keys_of)
from .base import account_of


@login_required
def credentials_page(request: HttpRequest) -> HttpResponse:
    return render(request, "console/credentials.html", {
        "keys": access_keys_of(request.user), "account": account_of(request),
        "endpoint": request.build_absolute_uri("/").rstrip("/")})


@login_required
@require_POST
def access_key_create_view(request: HttpRequest) -> HttpResponse:
    account_of(request)  # a user without an account gets one before acting through a key
    key, secret = access_key_create(request.user)
    # Shown on this response only: the secret is not kept anywhere the page can read it again.
    return render(request, "console/credentials.html", {
        "keys": access_keys_of(request.user), "account": account_of(request), "new_key": key,
        "new_secret": secret, "endpoint": request.build_absolute_uri("/").rstrip("/")})


def _owned_key(request: HttpRequest, access_key_id: str) -> AccessKey:
    try:
        return access_key_get(request.user, access_key_id)
    except ResourceNotFound:
        raise Http404("Access key not found")


@login_required
@require_POST
def access_key_update_view(request: HttpRequest, access_key_id: str) -> HttpResponse:
    key = _owned_key(request, access_key_id)
    active = request.POST.get("active") == "true"
    access_key_set_active(key, active)
    messages.success(request, f"Access key {key.access_key_id} is now {'active' if active else 'inactive'}.")
    return redirect("credentials")


@login_required
@require_POST
def access_key_delete_view(request: HttpRequest, access_key_id: str) -> HttpResponse:
    key = _owned_key(request, access_key_id)
    access_key_delete(key)
    messages.success(request, f"Deleted access key {access_key_id}.")
    return redirect("credentials")

"""What every S3 page needs: the caller's bucket (another account's is a 404).

Changes made in the console carry no signed principal (None): services/events.py names the
bucket's owner as the event's userIdentity then, as for any console user of the account."""
from __future__ import annotations

from django.http import Http404, HttpRequest

from ...views.base import account_of
from ..models import Bucket


def owned_bucket(request: HttpRequest, name: str) -> Bucket:
    """The caller's bucket by name; any other account's bucket, like a missing one, is a 404."""
    bucket = Bucket.objects.select_related("account").filter(name=name, account=account_of(request)).first()
    if bucket is None:
        raise Http404("Bucket not found")
    return bucket


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "127.0.0.1"

"""S3 > Buckets: the list, creating a bucket, deleting one (refused while it holds objects)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ...views.base import account_of, posted
from ..models import Bucket
from ..services.browse import bucket_remove
from ..services.buckets import bucket_create
from ..wire.errors import S3Error
from .common import owned_bucket
from .forms import BUCKET_NAME_HELP, BucketCreateForm, BucketDeleteForm

# What the S3 console says when a bucket name is taken (by this account, or by anyone else).
TAKEN = {"BucketAlreadyOwnedByYou": "You already own a bucket with this name. Choose another name.",
         "BucketAlreadyExists": "A bucket with the same name already exists. Bucket names are unique across all "
                                "accounts. Choose another name."}


@login_required
def bucket_list(request: HttpRequest) -> HttpResponse:
    buckets = Bucket.objects.filter(account=account_of(request)).order_by("name")
    return render(request, "s3/buckets/list.html", {"buckets": buckets})


@login_required
def bucket_create_view(request: HttpRequest) -> HttpResponse:
    form = BucketCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            bucket = bucket_create(account_of(request), name, settings.LAMBDA_REGION)
        except S3Error as exc:  # the rules' last word: taken names, or a rule the form did not spell out
            form.add_error("name", TAKEN.get(exc.code, exc.message))
        else:
            messages.success(request, f'Successfully created bucket "{bucket.name}".')
            return redirect("s3-bucket", name=bucket.name)
    return render(request, "s3/buckets/create.html", {"form": form, "region": settings.LAMBDA_REGION,
                                                      "name_help": BUCKET_NAME_HELP},
                  status=400 if form.is_bound else 200)


@login_required
def bucket_delete_view(request: HttpRequest, name: str) -> HttpResponse:
    bucket = owned_bucket(request, name)
    form = BucketDeleteForm(posted(request), bucket_name=bucket.name)
    not_empty = bucket.contents.exists()
    if request.method == "POST" and form.is_valid():
        try:
            bucket_remove(bucket)
        except S3Error as exc:  # BucketNotEmpty, S3's own message
            form.add_error(None, exc.message)
            not_empty = True
        else:
            messages.success(request, f'Successfully deleted bucket "{name}".')
            return redirect("s3-buckets")
    return render(request, "s3/buckets/delete.html", {"bucket": bucket, "form": form, "not_empty": not_empty},
                  status=400 if form.is_bound else 200)

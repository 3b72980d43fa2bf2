"""A bucket's page (the object browser and its Properties), folders, deleting objects, and an
object's own page with its preview."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ...views.base import posted
from .. import storage
from ..models import Bucket, S3Object
from ..services import browse, events
from ..services.names import check_key
from ..services.objects import object_store
from ..wire.errors import S3Error
from . import display
from .common import client_ip, owned_bucket
from .forms import FOLDER_NAME_HELP, FolderCreateForm, ObjectsDeleteForm

FOLDER_CONTENT_TYPE = "application/x-directory; charset=UTF-8"  # what the S3 console gives its folders
PAGE_SIZE = 100  # the S3 console's default page of objects
TABS = ("objects", "properties")


def bucket_url(bucket: Bucket, prefix: str = "", **params: str) -> str:
    query = {k: v for k, v in {"prefix": prefix, **params}.items() if v}
    return reverse("s3-bucket", args=[bucket.name]) + (f"?{urlencode(query)}" if query else "")


def object_page_url(bucket: Bucket, key: str) -> str:
    return reverse("s3-object", args=[bucket.name]) + "?" + urlencode({"prefix": key})


def _prefix(request: HttpRequest) -> str:
    """The folder the browser shows: "" or a prefix ending in "/" (anything else is its parent folder)."""
    prefix = request.GET.get("prefix", "")
    return prefix if prefix.endswith("/") or not prefix else display.parent_prefix(prefix)


@login_required
def bucket_page(request: HttpRequest, name: str) -> HttpResponse:
    bucket = owned_bucket(request, name)
    tab = request.GET.get("tab", "objects")
    tab = tab if tab in TABS else "objects"
    context = {"bucket": bucket, "tab": tab}
    if tab == "properties":
        context["notifications"] = display.notification_rows(bucket)
        return render(request, "s3/bucket/properties.html", context)
    prefix = _prefix(request)
    search = request.GET.get("search", "")
    level = browse.level_list(bucket, prefix + search, after=request.GET.get("after"),
                              before=request.GET.get("before"), page_size=PAGE_SIZE)
    rows = [{"entry": entry, "name": entry.key[len(prefix):], "type": display.type_label(entry.key),
             "url": bucket_url(bucket, entry.key) if entry.is_folder else object_page_url(bucket, entry.key)}
            for entry in sorted(level.entries, key=lambda e: not e.is_folder)]  # folders first, as the console shows a page
    context.update({
        "prefix": prefix, "search": search, "rows": rows, "crumbs": display.folder_crumbs(prefix),
        "next_url": level.next_token and bucket_url(bucket, prefix, search=search, after=level.next_token),
        "previous_url": level.previous_token and bucket_url(bucket, prefix, search=search,
                                                            before=level.previous_token),
        "s3_uri": display.s3_uri(bucket, prefix)})
    # The upload script refreshes the table with the same partial the page was drawn with.
    template = "s3/bucket/_objects_table.html" if request.GET.get("partial") else "s3/bucket/objects.html"
    return render(request, template, context)


@login_required
def folder_create(request: HttpRequest, name: str) -> HttpResponse:
    """An empty object whose key ends in "/", as the S3 console makes a folder (a PutObject: it notifies)."""
    bucket = owned_bucket(request, name)
    prefix = _prefix(request)
    form = FolderCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        key = f"{prefix}{form.cleaned_data['name']}/"
        try:
            check_key(key)
        except S3Error as exc:  # KeyTooLongError
            form.add_error("name", exc.message)
        if S3Object.objects.filter(bucket=bucket, key=key).exists():
            form.add_error("name", "A folder with this name already exists. Choose another name.")
        if form.is_valid():
            with storage.BlobWriter() as writer:
                change = events.Change("ObjectCreated:Put", key, 0, writer.etag, None,
                                       client_ip(request))
                object_store(bucket, key, writer, {"content_type": FOLDER_CONTENT_TYPE}, change)
            messages.success(request, f'Successfully created folder "{form.cleaned_data["name"]}".')
            return redirect(bucket_url(bucket, prefix))
    return render(request, "s3/bucket/create_folder.html", {
        "bucket": bucket, "prefix": prefix, "form": form, "crumbs": display.folder_crumbs(prefix),
        "help": FOLDER_NAME_HELP}, status=400 if form.is_bound else 200)


@login_required
@require_POST
def objects_delete(request: HttpRequest, name: str) -> HttpResponse:
    bucket = owned_bucket(request, name)
    back = request.POST.get("prefix", "")
    form = ObjectsDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect(bucket_url(bucket, back))
    removed = browse.objects_delete(bucket, form.keys, None, client_ip(request))
    messages.success(request, f"Successfully deleted {removed} object{'s' if removed != 1 else ''}.")
    return redirect(bucket_url(bucket, back))


@login_required
def object_page(request: HttpRequest, name: str) -> HttpResponse:
    bucket = owned_bucket(request, name)
    key = request.GET.get("prefix", "")
    obj = S3Object.objects.filter(bucket=bucket, key=key).first()
    if obj is None:
        raise Http404("Object not found")
    folder = display.parent_prefix(key)
    system = [("Content-Type", obj.content_type)] + [
        (label, value) for label, value in (
            ("Content-Encoding", obj.content_encoding), ("Content-Disposition", obj.content_disposition),
            ("Content-Language", obj.content_language), ("Cache-Control", obj.cache_control),
            ("Expires", obj.expires)) if value]
    return render(request, "s3/object/detail.html", {
        "bucket": bucket, "obj": obj, "name": key[len(folder):], "folder": folder,
        "crumbs": display.folder_crumbs(folder), "type": display.type_label(key),
        "s3_uri": display.s3_uri(bucket, key), "arn": display.object_arn(bucket, key),
        "object_url": display.object_url(request.build_absolute_uri("/").rstrip("/"), bucket, key),
        "system_metadata": system, "user_metadata": sorted(obj.metadata.items()),
        "metadata_count": len(system) + len(obj.metadata),
        "image": display.is_image(obj), "text": display.text_preview(obj),
        "preview_limit": display.TEXT_PREVIEW_BYTES, "folder_url": bucket_url(bucket, folder)})

"""The Code tab: the function overview, the editor's files, deploys, uploads and downloads."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import codestore
from ..errors import LambdaError, RequestTooLarge
from ..forms import RuntimeSettingsForm, UploadZipForm, add_service_error
from ..services.code import function_files, function_files_update, inline_editable
from ..services.functions import function_update_code, function_update_configuration
from ..services.saved_events import test_events_for
from .base import function_context, owned_function


def _code_page(request: HttpRequest, function, runtime_form=None, upload_form=None, status: int = 200):
    runtime_form = runtime_form or RuntimeSettingsForm(initial={"runtime": function.runtime,
                                                               "handler": function.handler})
    context = function_context(
        request, function, "code",
        editable=inline_editable(function),
        runtime_form=runtime_form,
        upload_form=upload_form or UploadZipForm(),
        test_events=test_events_for(function, request.user),
    )
    return render(request, "console/function/code.html", context, status=status)


@login_required
def code_tab(request: HttpRequest, name: str) -> HttpResponse:
    return _code_page(request, owned_function(request, name))


@login_required
@require_GET
def code_files(request: HttpRequest, name: str) -> JsonResponse:
    function = owned_function(request, name)
    files = [{"path": f.path, "content": f.content, "binary": f.content is None} for f in function_files(function)]
    return JsonResponse({"files": files, "code_sha256": function.code_sha256, "runtime": function.runtime})


@login_required
@require_POST
def code_deploy(request: HttpRequest, name: str) -> JsonResponse:
    function = owned_function(request, name)
    try:
        files = json.loads(request.body or b"{}").get("files")
    except (ValueError, AttributeError):
        return JsonResponse({"error": "The request is not valid JSON."}, status=400)
    try:
        function = function_files_update(function, files)
    except LambdaError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({
        "message": f"Successfully updated the function {function.name}.",
        "code_sha256": function.code_sha256,
        "code_size": function.code_size,
        "last_modified": function.last_modified.isoformat(),
    })


@login_required
@require_POST
def code_upload(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = UploadZipForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["zip_file"]
        try:
            if upload.size > codestore.MAX_ZIP_BYTES:
                raise RequestTooLarge(
                    f"The .zip file must be smaller than {codestore.MAX_ZIP_BYTES // (1024 * 1024)} MB.",
                    field="ZipFile")
            function_update_code(function, zip_file=upload.read())
        except LambdaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully updated the function {function.name}.")
            return redirect("function", name=function.name)
    return _code_page(request, function, upload_form=form, status=400)


@login_required
@require_GET
def code_download(request: HttpRequest, name: str) -> FileResponse:
    function = owned_function(request, name)
    if not function.code_sha256:
        raise Http404("This function has no deployment package")
    return FileResponse(open(codestore.zip_path(function.code_sha256), "rb"), as_attachment=True,
                        filename=f"{function.name}.zip", content_type="application/zip")


@login_required
@require_POST
def runtime_settings(request: HttpRequest, name: str) -> HttpResponse:
    function = owned_function(request, name)
    form = RuntimeSettingsForm(request.POST)
    if form.is_valid():
        try:
            function_update_configuration(function, runtime=form.cleaned_data["runtime"],
                                          handler=form.cleaned_data["handler"])
        except LambdaError as exc:
            function.refresh_from_db()
            add_service_error(form, exc)
        else:
            messages.success(request, f"Successfully updated the function {function.name}.")
            return redirect("function", name=function.name)
    return _code_page(request, function, runtime_form=form, status=400)

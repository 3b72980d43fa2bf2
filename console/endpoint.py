"""One AWS endpoint: the services served beside the Lambda API, told apart as AWS tells them.

`console/fastpath.py` reads the service from the SigV4 credential scope (`foreign.service_of`)
and hands the request to that service's wire module, named here. A wire module exposes
`handle(request: HttpRequest) -> HttpResponse`: it authenticates the caller with
`console.sigv4.authenticate(request, service=...)`, checks the caller's permission with
`console.authz`, runs the operation and answers in its own protocol, errors included. It runs
on the API's thread pool, like every Lambda operation. The Lambda API itself keeps its paths
(`console/api/urls.py`); a signed request for a service not listed here gets that service's
error shape from `console/api/foreign.py`.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Callable

from django.http import HttpRequest, HttpResponse

# Services whose bodies stream (objects of any size): an ASGI app each, `application(scope,
# receive, send)`, which authenticates, authorizes and answers on its own.
ASGI_WIRES: dict[str, str] = {
    "s3": "console.s3.wire.app",
}

WIRES: dict[str, str] = {
    "iam": "console.iam.wire",
    "sts": "console.sts.wire",
}


@lru_cache(maxsize=None)
def handler_for(service: str) -> Callable[[HttpRequest], HttpResponse] | None:
    """The wire handler of a service served here, or None."""
    module = WIRES.get(service)
    if module is None:
        return None
    return importlib.import_module(module).handle


@lru_cache(maxsize=None)
def asgi_app_for(service: str):
    """The ASGI app of a streaming service served here, or None."""
    module = ASGI_WIRES.get(service)
    if module is None:
        return None
    return importlib.import_module(module).application

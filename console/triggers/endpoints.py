"""The URLs the API and the console hand out for triggers: always on the trigger listener.

LAMBDA_TRIGGER_URL is where clients reach the listener (by default http://127.0.0.1:8001). A
function URL is <LAMBDA_TRIGGER_URL>/lambda-url/<url-id>/, or, when the operator set
LAMBDA_URL_DOMAIN (and so the DNS for it), http://<url-id>.lambda-url.<domain>[:port]/ as AWS
shapes them. An HTTP API is <LAMBDA_TRIGGER_URL>/http-api/<api-id>/.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def function_url_host(url_id: str) -> str:
    return f"{url_id}.lambda-url.{settings.LAMBDA_URL_DOMAIN}"


def function_url(url_id: str) -> str:
    if settings.LAMBDA_URL_DOMAIN_SET:
        base = urlsplit(settings.LAMBDA_TRIGGER_URL)
        port = f":{base.port}" if base.port and base.port != DEFAULT_PORTS.get(base.scheme) else ""
        return f"{base.scheme}://{function_url_host(url_id)}{port}/"
    return f"{settings.LAMBDA_TRIGGER_URL}/lambda-url/{url_id}/"


def http_api_url(api_id: str) -> str:
    return f"{settings.LAMBDA_TRIGGER_URL}/http-api/{api_id}/"

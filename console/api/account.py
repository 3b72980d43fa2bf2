"""GetAccountSettings: the account's limits and what it uses of them."""
from __future__ import annotations

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse

from .. import codestore
from ..models import Account, Function
from ..services.functions import CODE_STORAGE_LIMIT, account_code_usage
from .errors import json_response


def get_account_settings(request: HttpRequest, account: Account) -> HttpResponse:
    functions = Function.objects.filter(account=account)
    reserved = functions.aggregate(total=Sum("reserved_concurrency"))["total"] or 0
    return json_response({
        "AccountLimit": {
            "TotalCodeSize": CODE_STORAGE_LIMIT,
            "CodeSizeUnzipped": codestore.MAX_UNZIPPED_BYTES,
            "CodeSizeZipped": codestore.MAX_ZIP_BYTES,
            "ConcurrentExecutions": settings.LAMBDA_ACCOUNT_CONCURRENCY,
            "UnreservedConcurrentExecutions": max(0, settings.LAMBDA_ACCOUNT_CONCURRENCY - reserved),
        },
        "AccountUsage": {"TotalCodeSize": account_code_usage(account), "FunctionCount": functions.count()},
    })

"""GetAccountSettings: the account's limits and what it uses of them."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .. import codestore
from ..models import Account, Function
from ..services.concurrency import account_reserved, unreserved_concurrency
from ..services.functions import CODE_STORAGE_LIMIT, account_code_usage
from .errors import json_response


def get_account_settings(request: HttpRequest, account: Account) -> HttpResponse:
    functions = Function.objects.filter(account=account)
    limit = settings.LAMBDA_ACCOUNT_CONCURRENCY  # per account, as AWS's ConcurrentExecutions quota
    return json_response({
        "AccountLimit": {
            "TotalCodeSize": CODE_STORAGE_LIMIT,
            "CodeSizeUnzipped": codestore.MAX_UNZIPPED_BYTES,
            "CodeSizeZipped": codestore.MAX_ZIP_BYTES,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": unreserved_concurrency(limit, account_reserved(account.pk)),
        },
        "AccountUsage": {"TotalCodeSize": account_code_usage(account), "FunctionCount": functions.count()},
    })

"""An account's concurrency: its limit, what its functions reserve, and what is left for the rest.

As on AWS (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html):
each account may run LAMBDA_ACCOUNT_CONCURRENCY executions at once. A function with
reserved concurrency draws only from its reservation; every other function of the
account shares the unreserved rest, of which a minimum must stay unreserved.
"""
from __future__ import annotations

import math
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from ..errors import InvalidParameterValue
from ..models import Account, Function


def minimum_unreserved(limit: int) -> int:
    """AWS keeps 100 of its default 1,000 unreserved; we keep the same tenth of a smaller limit.

    (AWS itself keeps min(100, limit), which on a limit of 50 would forbid any reservation.)
    """
    return max(1, math.ceil(limit / 10))


def account_reserved(account_id: int, exclude: Function | None = None) -> int:
    """The concurrency the account's functions reserve, `exclude` left out."""
    functions = Function.objects.filter(account_id=account_id, reserved_concurrency__isnull=False)
    if exclude is not None:
        functions = functions.exclude(pk=exclude.pk)
    return functions.aggregate(total=Sum("reserved_concurrency"))["total"] or 0


# What each account reserves, as the invoke path reads it: one aggregate query per invocation
# cost more than the rest of building its spec (0.6 ms against 0.02 ms), so the sum is kept
# for a second. A change made in this process is seen at once; elsewhere within that second.
RESERVED_TTL = 1.0
_reserved_cache: dict[int, tuple[float, int]] = {}


def account_reserved_recent(account_id: int) -> int:
    """`account_reserved`, at most RESERVED_TTL seconds old."""
    now = time.monotonic()
    cached = _reserved_cache.get(account_id)
    if cached is not None and now - cached[0] < RESERVED_TTL:
        return cached[1]
    total = account_reserved(account_id)
    _reserved_cache[account_id] = (now, total)
    return total


def unreserved_concurrency(limit: int, reserved: int) -> int:
    """The pool that the account's functions without a reservation share."""
    return max(0, limit - reserved)


def reservation_set(function: Function, reserved: int | None) -> Function:
    """Reserve `reserved` (None: no reservation) for the function, unless that leaves the account
    less unreserved concurrency than its minimum; then nothing changes."""
    with transaction.atomic():
        # Two reservations made at once must not both pass the check (rows locked on PostgreSQL;
        # SQLite serialises the writing transactions anyway).
        Account.objects.select_for_update().filter(pk=function.account_id).first()
        limit = settings.LAMBDA_ACCOUNT_CONCURRENCY
        minimum = minimum_unreserved(limit)
        left = limit - account_reserved(function.account_id, exclude=function) - (reserved or 0)
        grows = (reserved or 0) > (function.reserved_concurrency or 0)
        if grows and left < minimum:
            # AWS's exact wording (InvalidParameterValueException, status 400).
            raise InvalidParameterValue(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}].",
                field="ReservedConcurrentExecutions")
        function.reserved_concurrency = reserved
        function.save(update_fields=["reserved_concurrency"])
        transaction.on_commit(lambda: _reserved_cache.pop(function.account_id, None))
    return function

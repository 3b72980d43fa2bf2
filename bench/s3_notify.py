"""Upload-to-invocation latency: PutObject returning to the function's handler starting.

Part of bench/s3.py (needs Django set up and a worker). A Python function returns the time its
handler started (`time.time()`: the container shares the host's clock); each upload's latency
is that time minus the moment boto3's put_object returned. Uploads are sequential and spaced,
so each finds the function's environment warm and idle; the first (cold) one is not counted.
"""
from __future__ import annotations

import importlib.util
import json
import time

from botocore.exceptions import ClientError

HANDLER = ("import time\n\ndef lambda_handler(event, context):\n"
           "    return {'started': time.time(), 'key': event['Records'][0]['s3']['object']['key']}\n")


class Pending(Exception):
    """A part of S3 this measure needs is not served yet (501 NotImplemented)."""


def bench_role(user) -> str:
    from console.iam.errors import NoSuchEntity
    from console.iam.services import LAMBDA_TRUST, role_create, role_get
    from console.services.accounts import account_for_user

    account = account_for_user(user)
    try:
        return role_get(account, "bench-lambda").arn
    except NoSuchEntity:
        return role_create(account, "bench-lambda", LAMBDA_TRUST).arn


def _started(function, count: int, timeout: float = 60.0) -> list[float]:
    """The handlers' start times of the function's first `count` finished invocations, oldest first."""
    from console.models import Invocation

    deadline = time.monotonic() + timeout
    rows: list = []
    while time.monotonic() < deadline:
        rows = list(Invocation.objects.filter(function=function, finished__isnull=False)
                    .order_by("received").values_list("response", "status"))
        if len(rows) >= count:
            out = []
            for response, status in rows[:count]:
                try:
                    out.append(float(json.loads(response)["started"]))
                except (ValueError, KeyError, TypeError):
                    raise RuntimeError(f"invocation {status}: {response[:300]}")
            return out
        time.sleep(0.005)
    raise RuntimeError(f"only {len(rows)} of {count} invocations finished in {timeout:.0f} s")


def upload_to_invocation(s3, lambda_client, user, uploads: int = 30, pause: float = 0.3) -> list[float]:
    """Milliseconds from each PutObject's return to its invocation's handler starting."""
    from console.codestore import make_zip
    from console.services.accounts import account_for_user

    if importlib.util.find_spec("console.s3.ops.notifications") is None:
        raise Pending("S3 event notifications are not in this tree yet")
    account = account_for_user(user).account_id
    bucket = "bench-notify"
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    try:
        lambda_client.delete_function(FunctionName="on-upload")
    except lambda_client.exceptions.ResourceNotFoundException:
        pass
    function = lambda_client.create_function(
        FunctionName="on-upload", Runtime="python3.11", Role=bench_role(user), Handler="lambda_function.lambda_handler",
        Code={"ZipFile": make_zip({"lambda_function.py": HANDLER})})
    lambda_client.add_permission(FunctionName="on-upload", StatementId="s3-bench", Action="lambda:InvokeFunction",
                                 Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}",
                                 SourceAccount=account)
    try:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": function["FunctionArn"],
                                              "Events": ["s3:ObjectCreated:*"]}]})
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NotImplemented", "501"):
            raise Pending("PutBucketNotificationConfiguration is not served yet") from exc
        raise
    from console.models import Function

    row = Function.objects.get(account__account_id=account, name="on-upload")
    returned: list[float] = []
    for n in range(uploads + 1):
        s3.put_object(Bucket=bucket, Key=f"in/{n}.txt", Body=b"x" * 1024)
        returned.append(time.time())
        _started(row, n + 1)  # one at a time: each finds the environment idle
        time.sleep(pause)
    started = _started(row, uploads + 1)
    return [(s - r) * 1000 for s, r in zip(started[1:], returned[1:])]

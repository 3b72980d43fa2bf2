"""Lambda API benchmark: warm Invoke through boto3 over HTTP (SigV4, Daphne, worker, container).

    python bench/api.py [--warm N] [--seconds S]

Starts its own Daphne and Celery worker (threads pool) on a separate database and Redis db,
talks to them on 127.0.0.1 only, and prints one JSON object: p50/p99 at concurrency 1 and
throughput at 8 and 32 concurrent clients; and the same warm Invoke signed with a role
session's temporary credentials, whose every call goes through the identity-policy check
(`console/authz.py`), so the check's cost is the difference between the two p50s.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAMBDA_VAR_DIR", str(ROOT / "var" / "bench-api"))
os.environ.setdefault("REDIS_DB", "13")  # of the Redis of scripts/services.sh, with its password
os.environ.setdefault("LAMBDA_DOCKER_NETWORK", "lambda-functions-bench-api")

# Sets the rest of the environment up, then Django with it.
from bench.harness import HELLO, free_port, prepare, start_daphne, stop_servers  # noqa: E402
from bench.tally import Tally, expect_success, percentile  # noqa: E402


from console.codestore import make_zip  # noqa: E402
from console.services.access_keys import access_key_create  # noqa: E402
from console.services.accounts import account_for_user  # noqa: E402


def bench_role(user) -> str:
    """A role of the user's account that trusts Lambda, as every function needs one."""
    from console.iam.services import LAMBDA_TRUST, role_create, role_get
    from console.iam.errors import NoSuchEntity

    account = account_for_user(user)
    try:
        return role_get(account, "bench-lambda").arn
    except NoSuchEntity:
        return role_create(account, "bench-lambda", LAMBDA_TRUST).arn


def role_session_credentials(user, role_arn: str) -> dict:
    """Temporary credentials of a role allowed to invoke the benchmark's function (and nothing more)."""
    import datetime as dt
    import json

    from console.iam.services import role_put_policy
    from console.sts import sessions

    account = account_for_user(user)
    role_put_policy(account, role_arn.rsplit("/", 1)[-1], "invoke-warm", json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                "Resource": f"arn:aws:lambda:*:{account.account_id}:function:warm"}]}))
    session = sessions.mint(account.account_id, role_arn, "bench", dt.timedelta(hours=1))
    return {"aws_access_key_id": session.access_key_id, "aws_secret_access_key": session.secret_access_key,
            "aws_session_token": session.session_token}


def invoke_ok(client) -> None:
    """One Invoke through the API that must succeed: a function error raises."""
    response = client.invoke(FunctionName="warm", Payload=b"{}")
    expect_success(response["StatusCode"], response.get("FunctionError"), response["Payload"].read())


def main() -> None:
    import boto3
    from botocore.config import Config
    from django.contrib.auth.models import User

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=500, help="sequential warm invocations")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each throughput run")
    args = ap.parse_args()

    worker = prepare()
    tally = Tally()
    daphne = None
    try:
        port = free_port()
        daphne = start_daphne(port)
        url = f"http://127.0.0.1:{port}"
        user, _ = User.objects.get_or_create(username="bench-api")
        account_for_user(user).functions.all().delete()
        key, secret = access_key_create(user)

        def make_client(**credentials):
            credentials = credentials or {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": secret}
            return boto3.client("lambda", endpoint_url=url, region_name="us-east-1", **credentials,
                                config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4))

        client = make_client()
        role_arn = bench_role(user)
        client.create_function(FunctionName="warm", Runtime="python3.11", Role=role_arn,
                               Handler="lambda_function.lambda_handler",
                               Code={"ZipFile": make_zip({"lambda_function.py": HELLO})})
        tally.series(lambda: invoke_ok(client), 20)
        warm = tally.series(lambda: invoke_ok(client), args.warm)
        as_role = make_client(**role_session_credentials(user, role_arn))
        tally.series(lambda: invoke_ok(as_role), 20)
        warm_role = tally.series(lambda: invoke_ok(as_role), args.warm)

        def make_call():
            own = make_client()
            return lambda: invoke_ok(own)

        rates = {n: round(tally.throughput(make_call, n, args.seconds), 1) for n in (8, 32)}
        tally.report({
            "api_warm_p50_ms": percentile(warm, 50),
            "api_warm_p99_ms": percentile(warm, 99),
            "api_warm_role_session_p50_ms": percentile(warm_role, 50),
            "api_warm_role_session_p99_ms": percentile(warm_role, 99),
            "api_throughput_per_s_8_clients": rates[8],
            "api_throughput_per_s_32_clients": rates[32],
            "runs": {"warm": len(warm), "throughput_seconds": args.seconds},
        })
    finally:
        stop_servers(daphne)
        worker.stop()


if __name__ == "__main__":
    main()

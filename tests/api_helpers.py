"""Clients for the Lambda API tests: boto3 and hand-signed raw requests, as users would send them."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from console.codestore import make_zip

REGION = "us-east-1"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
HELLO = ("import json\n\ndef lambda_handler(event, context):\n"
         "    print('hello from', context.function_name)\n    return {'version': 'v1', 'event': event}\n")


def hello_zip(version: str = "v1") -> bytes:
    return make_zip({"lambda_function.py": HELLO.replace("'v1'", repr(version))})


def client_like(client, service: str):
    """A boto3 client for `service` with the endpoint and credentials of another client."""
    credentials = client._request_signer._credentials.get_frozen_credentials()
    return boto3.client(service, endpoint_url=client.meta.endpoint_url, region_name=REGION,
                        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                        aws_session_token=credentials.token, config=Config(retries={"total_max_attempts": 1}))


def lambda_role(client, name: str = "lambda-test") -> str:
    """The ARN of a role trusting Lambda in the account of `client` (any boto3 client), made through IAM once."""
    iam = client if client.meta.service_model.service_name == "iam" else client_like(client, "iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]


def create_hello(client, name: str, **extra):
    """A python3.11 hello-world function, created through the API."""
    return client.create_function(FunctionName=name, Runtime="python3.11", Role=lambda_role(client),
                                  Handler="lambda_function.lambda_handler", Code={"ZipFile": hello_zip()}, **extra)


def lambda_client(url: str, key_id: str, secret: str, **config):
    """A boto3 Lambda client for our server; no retries, so a throttle or error shows at once."""
    return boto3.client("lambda", endpoint_url=url, region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1}, **config))


def signed_request(url: str, method: str, path: str, key_id: str, secret: str, body: bytes = b"",
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send a raw request signed with botocore's signer: for bodies boto3 would never build."""
    request = AWSRequest(method=method, url=url + path, data=body, headers=headers or {})
    SigV4Auth(Credentials(key_id, secret), "lambda", REGION).add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=body or None, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def error_of(status_headers_body: tuple[int, dict[str, str], bytes]) -> tuple[int, str, dict]:
    status, headers, body = status_headers_body
    return status, headers.get("x-amzn-errortype", ""), json.loads(body or b"{}")

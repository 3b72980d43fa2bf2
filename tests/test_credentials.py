"""A function's credentials, without Docker: what an environment hands its runtime, and when.

AWS's behaviour followed: "Using Lambda environment variables" (defined runtime environment
variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN are "the access keys
obtained from the function's execution role"), and the SDKs' environment credential provider
(AWS_CREDENTIAL_EXPIRATION, read by botocore's EnvProvider and the JS SDK's fromEnv).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from console.sts import sessions
from executor import credentials
from executor.images import RUNTIMES_DIR

from .test_environment_unit import SPEC, FakeRuntime, background, invoke, make_env, started  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::111111111111:role/service-role/f-role-abcdefgh"


def opened(variables: dict[str, str]) -> sessions.Session:
    """The session the variables carry, as the SigV4 check opens it."""
    return sessions.open_token(variables["AWS_SESSION_TOKEN"], variables["AWS_ACCESS_KEY_ID"])


def test_a_function_with_a_role_starts_with_a_session_of_it_named_after_the_function(make_env, settings):
    settings.LAMBDA_CREDENTIALS_TTL = 3600
    env = make_env(role=ROLE)
    secrets = env.sandbox.secrets
    assert set(secrets) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                            "AWS_CREDENTIAL_EXPIRATION"}
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", secrets["AWS_ACCESS_KEY_ID"])
    session = opened(secrets)
    assert session.secret_access_key == secrets["AWS_SECRET_ACCESS_KEY"]
    assert session.assumed_role_arn == "arn:aws:sts::111111111111:assumed-role/f-role-abcdefgh/f"
    assert secrets["AWS_CREDENTIAL_EXPIRATION"] == session.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    remaining = (session.expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 3590 < remaining <= 3600


def test_a_function_without_a_role_gets_no_credentials(make_env):
    assert make_env(role="").sandbox.secrets == {}


def test_credentials_always_outlast_the_longest_invocation(settings):
    settings.LAMBDA_CREDENTIALS_TTL = 10
    spec = replace(SPEC, role=ROLE, timeout=900)
    session = credentials.mint_for(spec)
    assert (session.expiration - dt.datetime.now(dt.timezone.utc)).total_seconds() > 900 + credentials.SPARE
    assert credentials.lasts_an_invocation(session, spec)


def test_the_role_is_part_of_the_spec_so_a_new_role_retires_environments():
    assert replace(SPEC, role=ROLE).key != replace(SPEC, role=ROLE + "2").key != SPEC.key
    assert replace(SPEC, role=ROLE).family == SPEC.family  # the same function version: the old ones retire


def test_the_sealed_spec_names_the_role_but_carries_no_credentials(make_env):
    env = make_env(role=ROLE)
    data = json.dumps(SPEC.to_dict() | {"role": ROLE})
    assert ROLE in data
    for value in env.sandbox.secrets.values():
        assert value not in data


def at(session: sessions.Session, remaining: float) -> dt.datetime:
    return session.expiration - dt.timedelta(seconds=remaining)


def test_renewal_comes_once_half_the_session_is_gone_or_it_might_not_cover_the_invocation(settings):
    settings.LAMBDA_CREDENTIALS_TTL = 3600
    spec = replace(SPEC, role=ROLE, timeout=900)
    session = credentials.mint_for(spec)
    assert not credentials.renewal_due(session, spec, at(session, 1801))
    assert credentials.renewal_due(session, spec, at(session, 1799))
    short = replace(spec, timeout=3)
    assert credentials.lasts_an_invocation(session, short, at(session, 14))
    assert not credentials.lasts_an_invocation(session, short, at(session, 12))


def test_our_runtimes_get_new_credentials_with_the_invocation_that_needs_them(make_env, background, monkeypatch,
                                                                              settings):
    settings.LAMBDA_CREDENTIALS_TTL = 3600
    env, runtime = started(make_env(role=ROLE))
    first = env.session
    runtime.next()
    _, done = invoke(background, env)
    delivery = runtime.event()
    assert credentials.RENEW_HEADER not in delivery.headers  # fresh: nothing to hand over
    runtime.respond(delivery, b"{}")
    done.result(timeout=5)

    monkeypatch.setattr(credentials, "now", lambda: at(first, 1700))  # more than half the hour gone
    runtime.next()
    _, done = invoke(background, env)
    delivery = runtime.event()
    renewed = json.loads(delivery.headers[credentials.RENEW_HEADER])
    assert renewed == credentials.variables(env.session)
    assert renewed["AWS_ACCESS_KEY_ID"] != first.access_key_id
    assert opened(renewed).assumed_role_arn == first.assumed_role_arn
    runtime.respond(delivery, b"{}")
    done.result(timeout=5)
    assert env.usable()


def test_other_runtimes_are_retired_before_their_credentials_could_expire_in_an_invocation(make_env, monkeypatch,
                                                                                             settings):
    settings.LAMBDA_CREDENTIALS_TTL = 3600
    env, _ = started(make_env(role=ROLE, runtime="provided.al2023"))
    assert not env.renews_credentials and env.usable()
    monkeypatch.setattr(credentials, "now", lambda: at(env.session, SPEC.timeout + credentials.SPARE - 1))
    assert not env.usable()
    no_role, _ = started(make_env(role="", runtime="provided.al2023"))
    assert no_role.usable()  # nothing to expire


def test_the_python_runtime_carries_the_sdk_at_the_projects_versions():
    def pins(path: Path) -> dict[str, str]:
        return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M))

    project, runtime = pins(ROOT / "requirements.txt"), pins(RUNTIMES_DIR / "python3.11" / "requirements.txt")
    assert runtime["boto3"] == project["boto3"] and runtime["botocore"] == project["botocore"]


@pytest.mark.parametrize("runtime_api, url", [("172.18.0.1:29001", "http://172.18.0.1:8002"),
                                              ("fd00::1:29001", "http://[fd00::1]:8002")])
def test_the_endpoint_is_on_the_runtime_apis_address(runtime_api, url, settings):
    settings.LAMBDA_ENDPOINT_PORT = 8002
    assert credentials.endpoint_url(runtime_api) == url

"""A function's temporary credentials: its execution role's session, minted on the worker.

Every execution environment of a function with a role gets a session of that role
(`console.sts.sessions.mint`, named after the function, as Lambda names it) when it
starts, in the variables AWS's runtimes set: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, and AWS_CREDENTIAL_EXPIRATION, which botocore's and the JavaScript SDK's
environment providers read to know when to read the variables again. They are minted here,
on the worker, never carried in a Celery message, and never logged.

An environment may live longer than its credentials. Our Python and Node runtimes take new
ones with an invocation (the RENEW_HEADER of the Runtime API's GET /next, applied to the
process's environment before the handler runs, so even a client made at import time picks
them up); the environments of other runtimes are retired before theirs could expire during
an invocation.
"""
from __future__ import annotations

import datetime as dt
import json

from django.conf import settings

from console.sts import sessions
from console.sts.sessions import Session

from .spec import EnvSpec

# Our own header of the Runtime API's GET /next (not AWS's): new credentials as a JSON object
# of environment variables, which our bootstraps copy into the process's environment.
RENEW_HEADER = "Lambda-Runtime-Aws-Credentials"
# Seconds credentials must outlast an invocation's timeout when they are handed out with it.
SPARE = 10
# A session always outlasts the function's longest invocation by this much, whatever the TTL.
MIN_LIFETIME_PAST_TIMEOUT = 2 * SPARE


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ttl_for(spec: EnvSpec) -> dt.timedelta:
    return dt.timedelta(seconds=max(settings.LAMBDA_CREDENTIALS_TTL, spec.timeout + MIN_LIFETIME_PAST_TIMEOUT))


def mint_for(spec: EnvSpec) -> Session | None:
    """A new session of the function's role, or None for a function without one."""
    if not spec.role:
        return None
    return sessions.mint(spec.account_id, spec.role, spec.function_name, ttl_for(spec))


def variables(session: Session | None) -> dict[str, str]:
    """The environment variables that hand `session` to a function (none without one)."""
    if session is None:
        return {}
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
        # ISO 8601 with a Z, as botocore's EnvProvider and the JS SDK's fromEnv parse it.
        "AWS_CREDENTIAL_EXPIRATION": session.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def renew_header(session: Session) -> str:
    return json.dumps(variables(session), separators=(",", ":"))


def _remaining(session: Session, at: dt.datetime | None) -> float:
    return (session.expiration - (at or now())).total_seconds()


def renewal_due(session: Session, spec: EnvSpec, at: dt.datetime | None = None) -> bool:
    """Hand new credentials with this invocation: half the session is gone, or what is left
    might not cover the invocation. Half, not the last moment: botocore reads the variables
    again only once its own copy is within 15 minutes of expiry, and must find new ones then."""
    return _remaining(session, at) < max(ttl_for(spec).total_seconds() / 2, spec.timeout + SPARE)


def lasts_an_invocation(session: Session | None, spec: EnvSpec, at: dt.datetime | None = None) -> bool:
    """Whether an environment that cannot be given new credentials may still serve one invocation."""
    return session is None or _remaining(session, at) >= spec.timeout + SPARE


def endpoint_url(runtime_api: str) -> str:
    """The AWS endpoint functions call: the endpoint listener on the same gateway address as
    the Runtime API (`host:port`)."""
    host = runtime_api.rsplit(":", 1)[0]
    if ":" in host:  # IPv6
        host = f"[{host.strip('[]')}]"
    return f"http://{host}:{settings.LAMBDA_ENDPOINT_PORT}"

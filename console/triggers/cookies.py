"""The console's cookies, kept out of trigger events and out of trigger responses.

Browsers do not isolate cookies by port: a function URL on 127.0.0.1:8001 is sent the cookies
of the console on 127.0.0.1:8000, and its Set-Cookie lands in the same jar. So a function never
sees the console's cookies in its event, and its answer can never set one.
"""
from __future__ import annotations

from django.conf import settings

# Django's default names too: a browser may still hold a session cookie from before the console's
# cookies were renamed, and the session key in it stays valid until it expires.
LEGACY_NAMES = frozenset({"sessionid", "csrftoken", "messages"})
# Any SECRET_KEY's names (console/settings.py derives the suffix), so rotating the key leaves none behind.
PREFIXES = ("console_session_", "console_csrf_")


def is_console_cookie(name: str) -> bool:
    name = name.strip()
    return (name in LEGACY_NAMES or name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
            or name.startswith(PREFIXES))


def cookie_name(pair: str) -> str | None:
    """The name of "name=value[; attributes]", or None for a nameless cookie (no "=")."""
    head = pair.split(";", 1)[0]
    if "=" not in head:
        return None
    return head.split("=", 1)[0].strip()


def request_cookies(header_value: str) -> list[str]:
    """The pairs of a Cookie header a function may see: all but the console's."""
    pairs = (part.strip() for part in header_value.split(";"))
    return [pair for pair in pairs if pair and not is_console_cookie(cookie_name(pair) or "")]


def may_set(set_cookie: str) -> bool:
    """Whether a function's Set-Cookie value may reach the browser.

    A nameless cookie ("=console_session_x=...") is refused as well: browsers send it back as
    its bare value, which the console would read as a cookie of that name.
    """
    name = cookie_name(set_cookie)
    return bool(name) and not is_console_cookie(name)

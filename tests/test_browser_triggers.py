"""Triggers through the console in headless Chromium: a schedule, an HTTP API route and a function URL."""
from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import expect

from console.models import HttpRoute, ScheduleRule

from .conftest import python_function

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HANDLER = '''def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"},
            "body": "hello from " + context.function_name + " at " + event["rawPath"]}
'''


def test_add_triggers_and_open_the_function_url(alice_page, alice_account):
    page = alice_page
    python_function(alice_account, HANDLER, name="greeter")
    page.goto("/functions/greeter")
    diagram = page.locator("#overview-diagram")
    expect(diagram).to_contain_text("greeter")

    # An EventBridge schedule.
    diagram.get_by_role("link", name="+ Add trigger").click()
    page.get_by_role("radio", name="EventBridge (CloudWatch Events)").check()
    page.get_by_label("Rule name").fill("every-hour")
    page.get_by_label("Schedule expression").fill("cron(0 * * * ? *)")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("The trigger every-hour was successfully added")
    assert ScheduleRule.objects.get(name="every-hour").function.name == "greeter"

    # An API Gateway HTTP API route, in a new API.
    diagram.get_by_role("link", name="+ Add trigger").click()
    page.get_by_role("radio", name="API Gateway").check()
    expect(page.get_by_label("API name")).to_have_value("greeter-API")
    page.get_by_label("Route", exact=True).fill("GET /greet/{name}")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("GET /greet/{name}")
    assert HttpRoute.objects.get().function.name == "greeter"

    expect(diagram.locator(".diagram-node.schedule")).to_contain_text("every-hour")
    expect(diagram.locator(".diagram-node.http-api")).to_contain_text("GET /greet/{name}")

    # A function URL from the Configuration tab.
    page.get_by_role("link", name="Configuration", exact=True).click()
    page.get_by_role("link", name="Function URL", exact=True).click()
    page.locator("#function-url").get_by_role("link", name="Create function URL").click()
    page.get_by_label("NONE").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("Successfully created the function URL")
    expect(page.locator("#function-url-auth")).to_have_text("NONE")
    url = page.locator("#function-url-link").get_attribute("href")
    with urllib.request.urlopen(url + "from-test", timeout=60) as response:
        assert response.status == 200
        assert response.read().decode() == "hello from greeter at /from-test"
    expect(diagram.locator(".diagram-node.function-url")).to_be_visible()


# A page a user's function serves: its script attacks the console that the visitor (alice) is
# logged into in the same browser. It writes what it managed into #results for the test to read.
ATTACKER = r'''import html
import json

PAGE = """<!doctype html><html><head><title>A gift</title></head><body>
<pre id="event-cookies">__COOKIES__</pre><pre id="results">running</pre><iframe name="sink"></iframe>
<script>
(async () => {
  const params = new URLSearchParams(location.search);
  const target = params.get("console"), name = params.get("name"), fn = params.get("fn");
  const out = {cookies: document.cookie};
  try {
    const page = await fetch(target + "/security-credentials", {credentials: "include"});
    out.read = "read " + page.status + ": " + (await page.text()).slice(0, 100);
  } catch (error) { out.read = "failed: " + error.name; }
  // A plain form post (no preflight), sent with the visitor's cookies; its answer is not readable.
  const form = document.createElement("form");
  form.method = "post"; form.action = target + "/security-credentials/create"; form.target = "sink";
  document.body.appendChild(form);
  form.submit();
  try {
    await fetch(target + "/security-credentials/create", {method: "POST", mode: "no-cors", credentials: "include",
                                                          body: new URLSearchParams({a: "1"})});
    out.post = "sent";
  } catch (error) { out.post = "failed: " + error.name; }
  // Session fixation: overwrite the console's session cookie (its name told by an insider) and a guess.
  document.cookie = name + "=charlies-session; path=/";
  document.cookie = "sessionid=charlies-session; path=/";
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket(target.replace("http", "ws") + "/ws/functions/" + fn + "/logs");
    ws.onopen = () => resolve("open");
    ws.onclose = () => resolve("closed");
    setTimeout(() => resolve("timeout"), 5000);
  });
  document.getElementById("results").textContent = JSON.stringify(out);
})();
</script></body></html>"""


def lambda_handler(event, context):
    print("EVENT-COOKIES " + json.dumps(event.get("cookies", [])))
    return {"statusCode": 200, "headers": {"Content-Type": "text/html"},
            "body": PAGE.replace("__COOKIES__", html.escape(json.dumps(event.get("cookies", []))))}
'''


def test_function_url_page_cannot_reach_the_console_of_its_visitor(alice_page, live_server_url, trigger_url,
                                                                   alice, alice_account, charlie_account):
    """Issue 8, hole 1: charlie's function URL, opened by alice in the browser where she is logged
    into the console, can neither read her cookies nor the console's pages, post its forms, fix
    her session or listen to her logs; and the function's event holds none of her cookies."""
    import json
    from urllib.parse import urlencode

    from django.conf import settings

    from console.models import AccessKey, LogEvent
    from console.services.function_urls import function_url_create

    from .conftest import eventually

    page = alice_page
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="alices-fn")
    trap = python_function(charlie_account, ATTACKER, name="gift")
    config = function_url_create(charlie_account, trap, auth_type="NONE")
    session = settings.SESSION_COOKIE_NAME
    before = {c["name"]: c["value"] for c in page.context.cookies()}
    assert session in before and "csrftoken" not in before and settings.CSRF_COOKIE_NAME not in before
    # A cookie of the trigger listener's own host, which the function may see.
    page.context.add_cookies([{"name": "theme", "value": "dark", "url": trigger_url}])

    posts: list[int] = []
    page.on("response", lambda r: posts.append(r.status)
            if r.request.method == "POST" and "/security-credentials/create" in r.url else None)
    query = urlencode({"console": live_server_url, "name": session, "fn": "alices-fn"})
    assert page.goto(f"{trigger_url}/lambda-url/{config.url_id}/?{query}").status == 200
    expect(page.locator("#results")).not_to_have_text("running", timeout=30000)
    results = json.loads(page.locator("#results").text_content())

    assert results["cookies"] == "theme=dark"  # no session, no CSRF token
    assert results["read"].startswith("failed")  # CORS: the console's pages stay unreadable
    assert results["ws"] == "closed"  # the console's websocket refuses another origin
    eventually(lambda: len(posts) >= 2 or None, timeout=15)
    assert posts == [403, 403]
    assert not AccessKey.objects.filter(user=alice).exists()

    # What the function received, on its page and in its log: only the listener's own cookie.
    assert json.loads(page.locator("#event-cookies").text_content()) == ["theme=dark"]
    logged = eventually(lambda: LogEvent.objects.filter(function=trap, message__startswith="EVENT-COOKIES").first())
    assert json.loads(logged.message.split(" ", 1)[1]) == ["theme=dark"]
    assert before[session] not in logged.message

    # Alice is still herself on the console.
    after = [(c["value"], c["path"], c["httpOnly"]) for c in page.context.cookies() if c["name"] == session]
    assert after == [(before[session], "/", True)]
    page.goto(live_server_url + "/")
    expect(page.locator(".user")).to_contain_text("alice")
    assert page.goto(live_server_url + "/security-credentials").status == 200

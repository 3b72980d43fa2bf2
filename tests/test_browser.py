"""The console in real headless Chromium, against Daphne, a Celery worker, Redis and Docker."""
from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from console.models import Function
from executor.invoke import invoke

from .conftest import log_in, python_function

pytestmark = [pytest.mark.browser, pytest.mark.integration]

NEW_CODE = '''import json


def lambda_handler(event, context):
    print("greeting " + event.get("name", "nobody"))
    return {"statusCode": 200, "body": "Hello, " + event.get("name", "nobody") + "!"}
'''


def replace_editor_text(page, text: str) -> None:
    """Select everything in the editor and paste the new code, as a user would."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator("#editor .view-lines").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")
    expect(page.locator("#editor .view-lines")).to_contain_text("greeting")


def create_function(page, name: str, blueprint: str | None = None) -> None:
    page.get_by_role("link", name="Create function").first.click()
    if blueprint:
        page.get_by_text("Use a blueprint").click()
        page.locator(f"input[name=blueprint][value={blueprint}]").check()
    page.get_by_label("Function name").fill(name)
    page.get_by_role("button", name="Create function").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Successfully created the function {name}")
    expect(page.locator("#code-source")).to_have_attribute("data-ready", "true")


def save_event_and_test(page, name: str, body: str | None = None) -> None:
    page.get_by_role("link", name="Test", exact=True).click()
    page.get_by_label("Event name").fill(name)
    if body is not None:
        page.get_by_label("Event JSON").fill(body)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text(f"The test event {name} was successfully saved")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#execution-result-box")).to_be_visible(timeout=60000)


def test_python_function_from_wizard_to_monitor(alice_page, live_server_url):
    page = alice_page
    create_function(page, "e2e-py")
    replace_editor_text(page, NEW_CODE)
    expect(page.locator("#deploy-state")).to_have_text("Changes not deployed")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deploy-state")).to_contain_text("Successfully updated the function e2e-py")

    save_event_and_test(page, "greet", '{"name": "Ada"}')
    result = page.locator("#execution-result-box")
    expect(result).to_have_attribute("data-status", "succeeded")
    expect(result.locator(".response")).to_contain_text('"body": "Hello, Ada!"')
    expect(result.locator(".duration")).to_have_text(re.compile(r"^\d+\.\d\d ms$"))
    expect(result.locator(".log-output")).to_contain_text("greeting Ada")
    expect(result.locator(".log-output")).to_contain_text("REPORT RequestId")

    # The live log viewer, left open, shows an invocation started elsewhere within a second.
    viewer = page.context.new_page()
    viewer.goto("/functions/e2e-py/logs")
    expect(viewer.locator("#live-tail")).to_have_attribute("data-connected", "true")
    function = Function.objects.get(name="e2e-py")
    started = time.monotonic()  # the second counts from the call, not from its answer
    outcome = invoke(function, json.dumps({"name": "Grace"}), source="api")
    assert outcome.function_error is None
    group = viewer.locator(f'.request[data-request-id="{outcome.request_id}"]')
    expect(group).to_contain_text("greeting Grace", timeout=1000)
    expect(group).to_contain_text("REPORT RequestId", timeout=1000)
    assert time.monotonic() - started < 1.0

    # The Monitor tab charts both invocations and lists them with links to their logs.
    # Records land just after the call, as on AWS, so a user may have to refresh once.
    page.get_by_role("link", name="Monitor").click()
    deadline = time.monotonic() + 10
    while page.locator("#recent-invocations tbody tr").count() < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        page.reload()
    expect(page.locator("#monitor")).to_have_attribute("data-invocations", "2")
    charted = page.evaluate(
        "Chart.getChart('chart-invocations').data.datasets[0].data.reduce((a, b) => a + b, 0)")
    assert charted == 2
    expect(page.locator("#recent-invocations tbody tr")).to_have_count(2)
    page.get_by_role("link", name=outcome.request_id).click()
    expect(page.locator("#log-events")).to_contain_text("greeting Grace")
    viewer.close()


def test_node_function_from_a_blueprint(alice_page):
    page = alice_page
    create_function(page, "e2e-node", blueprint="hello-world-nodejs")
    expect(page.locator("#current-file")).to_have_text("index.mjs")
    save_event_and_test(page, "hello")  # the hello-world template
    result = page.locator("#execution-result-box")
    expect(result).to_have_attribute("data-status", "succeeded")
    expect(result.locator(".response")).to_have_text('"value1"')
    expect(result.locator(".log-output")).to_contain_text("value1 = value1")
    expect(result.locator(".duration")).to_have_text(re.compile(r"ms$"))


def test_outsider_cannot_see_open_invoke_or_stream(browser, live_server_url, alice, charlie, alice_account):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 'secret'\n", name="alices")
    page = log_in(browser, live_server_url, "charlie")
    try:
        expect(page.locator("body")).to_contain_text("No functions")
        assert page.goto("/functions/alices").status == 404
        assert page.goto("/functions/alices/logs").status == 404
        page.goto("/")
        # The CSRF secret lives in the session: the token is read from the page, as the console's JS does.
        csrf = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
        response = page.request.post("/functions/alices/test/invoke", form={"body": "{}"},
                                     headers={"X-CSRFToken": csrf, "Referer": live_server_url + "/"})
        assert response.status == 404
        page.goto("/")
        opened = page.evaluate("""() => new Promise((resolve) => {
            const ws = new WebSocket("ws://" + location.host + "/ws/functions/alices/logs");
            ws.onopen = () => resolve("open");
            ws.onclose = () => resolve("closed");
            setTimeout(() => resolve("timeout"), 5000);
        })""")
        assert opened == "closed"
    finally:
        page.context.close()


def test_script_tag_output_stays_text(alice_page, alice_account):
    page = alice_page
    python_function(alice_account, 'def lambda_handler(e, c):\n    print("<script>alert(1)</script>")\n'
                                   '    return "<script>alert(2)</script>"\n', name="xss")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    viewer = page.context.new_page()
    viewer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    viewer.goto("/functions/xss/logs")
    expect(viewer.locator("#live-tail")).to_have_attribute("data-connected", "true")
    page.goto("/functions/xss/test")
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.locator("#execution-result-box")
    expect(result.locator(".response")).to_have_text('"<script>alert(2)</script>"', timeout=60000)
    expect(result.locator(".log-output")).to_contain_text("<script>alert(1)</script>")
    expect(viewer.locator("#live-log")).to_contain_text("<script>alert(1)</script>")
    assert page.locator("#execution-result script").count() == 0
    assert viewer.locator("#live-log script").count() == 0
    assert dialogs == []
    viewer.close()

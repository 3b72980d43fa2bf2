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

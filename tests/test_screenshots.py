"""Screenshots of the console for docs/screenshots/, taken from a real session.

Run alone with `pytest -m screenshots tests/test_screenshots.py`; skipped otherwise.
"""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from console.codestore import make_zip
from console.services.async_config import event_invoke_config_put
from console.services.function_urls import function_url_create
from console.services.http_apis import http_api_create, http_route_create
from console.services.schedules import schedule_rule_create
from console.services.functions import function_create
from console.services.saved_events import test_event_save as save_event
from executor.invoke import invoke

from .conftest import ROOT, node_function, python_function

pytestmark = [pytest.mark.screenshots, pytest.mark.browser, pytest.mark.integration]

OUT = ROOT / "docs" / "screenshots"

ORDERS = '''import json
import os

TABLE = os.environ.get("TABLE_NAME", "orders")


def lambda_handler(event, context):
    """Price an order and return its total."""
    items = event.get("items", [])
    total = sum(item["price"] * item.get("quantity", 1) for item in items)
    print(f"Pricing order {event.get('orderId')} with {len(items)} items")
    print(json.dumps({"level": "INFO", "table": TABLE, "total": total}))
    return {"orderId": event.get("orderId"), "total": round(total, 2), "currency": "EUR"}
'''

ORDER_EVENT = json.dumps({"orderId": "A-1042", "items": [{"sku": "tea", "price": 4.5, "quantity": 2},
                                                         {"sku": "scone", "price": 3.25}]}, indent=2)


@pytest.fixture(autouse=True)
def only_when_asked(request):
    if "screenshots" not in (request.config.option.markexpr or ""):
        pytest.skip("screenshots are taken with -m screenshots")


def test_screenshots(alice_page, alice, alice_account):
    OUT.mkdir(parents=True, exist_ok=True)
    page = alice_page
    orders = python_function(alice_account, ORDERS, name="order-pricing", memory_size=256, timeout=10,
                             description="Prices an order from its line items",
                             environment={"TABLE_NAME": "orders"})
    node_function(alice_account, {"index.mjs": "export const handler = async (e) => ({ ok: true });"},
                  name="thumbnail-generator", description="Resizes uploaded images")
    python_function(alice_account, "def lambda_handler(e, c):\n    return {'batchItemFailures': []}\n",
                    name="queue-consumer", description="Processes messages from the orders queue")
    function_create(alice_account, "nightly-report", runtime="provided.al2023", handler="report.handler",
                    zip_file=make_zip({"bootstrap": "#!/bin/sh\n"}, executable=("bootstrap",)),
                    description="Custom runtime that mails the daily report")
    save_event(orders, alice, "order-a1042", ORDER_EVENT, shareable=True)

    page.goto("/")
    expect(page.locator("#functions-table")).to_be_visible()
    page.screenshot(path=str(OUT / "functions-list.png"))

    page.goto("/functions/create")
    page.get_by_label("Function name").fill("image-resizer")
    page.locator("details.advanced > summary").click()
    page.screenshot(path=str(OUT / "create-function.png"), full_page=True)

    for _ in range(3):
        invoke(orders, ORDER_EVENT, source="api")
    page.goto("/functions/order-pricing")
    expect(page.locator("#code-source")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#execution-result-box")).to_be_visible(timeout=60000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "code-tab-result.png"), full_page=True)

    page.goto("/functions/order-pricing/logs")
    expect(page.locator("#live-tail")).to_have_attribute("data-connected", "true")
    for order in ("A-1043", "A-1044"):
        invoke(orders, json.dumps({"orderId": order, "items": [{"sku": "tea", "price": 4.5}]}), source="api")
    expect(page.locator("#live-log .request")).to_have_count(2)
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "live-logs.png"), full_page=True)

    page.goto("/functions/order-pricing/monitor")
    expect(page.locator("#monitor")).to_have_attribute("data-invocations", "6")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "monitor.png"), full_page=True)

    page.goto("/functions/order-pricing/test")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#execution-result-box")).to_be_visible(timeout=60000)
    page.screenshot(path=str(OUT / "test-tab.png"), full_page=True)

    page.goto("/functions/order-pricing/configuration?section=environment")
    page.screenshot(path=str(OUT / "configuration.png"), full_page=True)

    # The overview diagram with a schedule, an HTTP API route, a function URL and a destination.
    schedule_rule_create(alice_account, "hourly-reprice", "rate(1 hour)", orders)
    http_route_create(http_api_create(alice_account, "orders-api"), "POST /orders/{id}/price", orders)
    function_url_create(alice_account, orders, auth_type="AWS_IAM")
    failures = python_function(alice_account, "def lambda_handler(e, c):\n    return e\n", name="pricing-failures",
                               description="Receives the records of failed pricing events")
    event_invoke_config_put(orders, on_failure=failures.arn)
    page.goto("/functions/order-pricing")
    expect(page.locator("#overview-diagram .diagram-node.destination")).to_be_visible()
    page.locator("#function-overview").screenshot(path=str(OUT / "function-overview-triggers.png"))

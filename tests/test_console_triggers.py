"""The console's trigger pages through Django's test client: the overview diagram, Add trigger,
Add destination, the Configuration tab's trigger sections and the HTTP APIs page."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from console.models import EventInvokeConfig, FunctionUrlConfig, HttpApi, HttpRoute, Invocation, ScheduleRule
from console.services.async_config import event_invoke_config_put
from console.services.function_urls import function_url_create
from console.services.http_apis import http_api_create, http_route_create
from console.services.schedules import schedule_rule_create

from .conftest import python_function

HELLO = "def lambda_handler(event, context):\n    return {'hello': event.get('name')}\n"


@pytest.fixture
def fn(alice_account):
    return python_function(alice_account, HELLO, name="hello")


@pytest.fixture
def target(alice_account):
    return python_function(alice_account, HELLO, name="on-failure-target")


def add_trigger(client, name="hello", **data):
    return client.post(reverse("function-trigger-add", args=[name]), data)


def schedule(**extra):
    return {"source": "eventbridge", "rule_name": "every-five", "schedule_expression": "rate(5 minutes)",
            "enabled": "on", **extra}


def test_overview_diagram_shows_triggers_and_destinations(alice_client, alice_account, fn, target):
    page = alice_client.get(reverse("function", args=["hello"])).content.decode()
    assert "+ Add trigger" in page and "+ Add destination" in page
    schedule_rule_create(alice_account, "nightly", "cron(0 2 * * ? *)", fn)
    api = http_api_create(alice_account, "shop")
    http_route_create(api, "GET /items/{id}", fn)
    function_url_create(alice_account, fn, auth_type="NONE")
    event_invoke_config_put(fn, on_failure=target.arn)
    page = alice_client.get(reverse("function-monitor", args=["hello"])).content.decode()
    diagram = page.split('id="overview-diagram"')[1].split('<dl class="overview">')[0]
    assert "EventBridge (CloudWatch Events)" in diagram and "nightly" in diagram
    assert "API Gateway" in diagram and "GET /items/{id}" in diagram and f"#api-{api.api_id}" in diagram
    assert "Function URL" in diagram and "section=function-url" in diagram
    assert "On failure" in diagram and reverse("function", args=["on-failure-target"]) in diagram


def test_add_schedule_trigger(alice_client, fn):
    response = add_trigger(alice_client, **schedule(input='{"job": "report"}'))
    assert response.status_code == 302 and response.url == reverse("function", args=["hello"])
    rule = ScheduleRule.objects.get(name="every-five")
    assert rule.function == fn and rule.input == '{"job": "report"}' and rule.state == "ENABLED"
    assert rule.periodic_task.enabled
    # As AWS's console does, the trigger comes with the permission EventBridge needs to invoke.
    [statement] = [p.statement for p in fn.permissions.all()]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": rule.arn}}


def test_bad_cron_is_shown_beside_the_field_and_changes_nothing(alice_client, fn):
    response = add_trigger(alice_client, **schedule(schedule_expression="cron(0 12 * * *)"))
    assert response.status_code == 400
    page = response.content.decode()
    field = page.split('id="id_schedule_expression"')[1].split("</div>")[0]
    assert "cron() takes 6 fields" in field
    assert 'value="cron(0 12 * * *)"' in page and 'value="every-five"' in page  # input kept
    assert not ScheduleRule.objects.exists() and not fn.permissions.exists()


def test_bad_constant_input_and_rate_are_refused(alice_client, fn):
    response = add_trigger(alice_client, **schedule(input="{not json"))
    assert response.status_code == 400 and "Input must be valid JSON" in response.content.decode()
    response = add_trigger(alice_client, **schedule(schedule_expression="rate(1 minutes)"))
    assert response.status_code == 400 and "ScheduleExpression is not valid" in response.content.decode()
    assert not ScheduleRule.objects.exists()


def test_add_http_api_trigger_new_and_existing(alice_client, alice_account, fn):
    response = add_trigger(alice_client, source="api-gateway", api_choice="new", api_name="shop",
                           route_key="GET /items/{id}")
    assert response.status_code == 302
    api = HttpApi.objects.get(name="shop")
    assert api.account == alice_account and api.routes.get().route_key == "GET /items/{id}"
    response = add_trigger(alice_client, source="api-gateway", api_choice="existing", api_id=api.api_id,
                           route_key="ANY /{proxy+}")
    assert response.status_code == 302 and api.routes.count() == 2


def test_colliding_or_malformed_route_leaves_no_api_behind(alice_client, alice_account, fn):
    api = http_api_create(alice_account, "shop")
    http_route_create(api, "GET /items/{id}", fn)
    response = add_trigger(alice_client, source="api-gateway", api_choice="existing", api_id=api.api_id,
                           route_key="GET /items/{name}")
    assert response.status_code == 400 and "would match the same requests" in response.content.decode()
    response = add_trigger(alice_client, source="api-gateway", api_choice="new", api_name="other",
                           route_key="FETCH /x")
    assert response.status_code == 400 and "Invalid route key" in response.content.decode()
    assert list(HttpApi.objects.values_list("name", flat=True)) == ["shop"] and HttpRoute.objects.count() == 1


def test_charlie_cannot_use_alices_api(charlie_client, alice_account, charlie_account):
    api = http_api_create(alice_account, "shop")
    mine = python_function(charlie_account, HELLO, name="mine")
    response = add_trigger(charlie_client, name=mine.name, source="api-gateway", api_choice="existing",
                           api_id=api.api_id, route_key="GET /x")
    assert response.status_code == 400 and not HttpRoute.objects.exists()


def test_trigger_pages_are_the_owners_only(charlie_client, alice_account, fn):
    rule = schedule_rule_create(alice_account, "nightly", "rate(1 hour)", fn)
    api = http_api_create(alice_account, "shop")
    route = http_route_create(api, "GET /items", fn)
    function_url_create(alice_account, fn, auth_type="NONE")
    for url in (reverse("function-trigger-add", args=["hello"]), reverse("function-destination-add", args=["hello"]),
                reverse("function-async-edit", args=["hello"]), reverse("function-url-edit", args=["hello"]),
                reverse("function-configuration", args=["hello"]) + "?section=triggers"):
        assert charlie_client.get(url).status_code == 404
    posts = [(reverse("function-trigger-add", args=["hello"]), schedule()),
             (reverse("function-rule-state", args=["hello", "nightly"]), {"state": "disable"}),
             (reverse("function-rule-delete", args=["hello", "nightly"]), {}),
             (reverse("function-route-delete", args=["hello", api.api_id, route.route_id]), {}),
             (reverse("function-destination-add", args=["hello"]), {"condition": "OnSuccess"}),
             (reverse("function-async-edit", args=["hello"]), {"maximum_event_age": 60,
                                                               "maximum_retry_attempts": 0}),
             (reverse("function-url-edit", args=["hello"]), {"auth_type": "AWS_IAM"}),
             (reverse("function-url-delete", args=["hello"]), {}),
             (reverse("http-api-delete", args=[api.api_id]), {}),
             (reverse("http-api-route-delete", args=[api.api_id, route.route_id]), {})]
    for url, data in posts:
        assert charlie_client.post(url, data).status_code == 404, url
    rule.refresh_from_db()
    assert rule.state == "ENABLED" and HttpRoute.objects.count() == 1 and FunctionUrlConfig.objects.count() == 1
    assert ScheduleRule.objects.count() == 1 and not EventInvokeConfig.objects.exists()
    assert "shop" not in charlie_client.get(reverse("http-apis")).content.decode()


def test_posts_need_the_csrf_token(alice, fn):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("function-trigger-add", args=["hello"]), schedule()).status_code == 403
    assert client.post(reverse("function-url-edit", args=["hello"]), {"auth_type": "NONE"}).status_code == 403
    assert not ScheduleRule.objects.exists() and not FunctionUrlConfig.objects.exists()


def test_triggers_section_enables_disables_and_deletes(alice_client, alice_account, fn):
    rule = schedule_rule_create(alice_account, "nightly", "cron(0 2 * * ? *)", fn)
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=triggers").content.decode()
    assert "nightly" in page and "Next firing times" in page and "02:00:00" in page
    assert 'data-confirm="Delete the trigger nightly?' in page
    response = alice_client.post(reverse("function-rule-state", args=["hello", "nightly"]), {"state": "disable"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.state == "DISABLED" and not rule.periodic_task.enabled
    alice_client.post(reverse("function-rule-state", args=["hello", "nightly"]), {"state": "enable"})
    rule.refresh_from_db()
    assert rule.state == "ENABLED"
    alice_client.post(reverse("function-rule-delete", args=["hello", "nightly"]))
    assert not ScheduleRule.objects.exists()


def test_route_trigger_delete(alice_client, alice_account, fn):
    api = http_api_create(alice_account, "shop")
    route = http_route_create(api, "GET /items", fn)
    assert alice_client.post(reverse("function-route-delete", args=["hello", api.api_id, route.route_id])
                             ).status_code == 302
    assert not HttpRoute.objects.exists() and HttpApi.objects.exists()


def test_create_edit_and_delete_function_url(alice_client, fn):
    url = reverse("function-url-edit", args=["hello"])
    assert "Create function URL" in alice_client.get(url).content.decode()
    response = alice_client.post(url, {"auth_type": "NONE", "cors": "on", "allow_origins": "https://a.example, *",
                                       "allow_methods": "GET, post", "max_age": "60"})
    assert response.status_code == 302
    config = FunctionUrlConfig.objects.get(function=fn)
    assert config.auth_type == "NONE"
    assert config.cors == {"AllowOrigins": ["https://a.example", "*"], "AllowMethods": ["GET", "POST"], "MaxAge": 60}
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=function-url"
                            ).content.decode()
    # On the trigger listener, never on the console's origin.
    assert f"{settings.LAMBDA_TRIGGER_URL}/lambda-url/{config.url_id}/" in page and "NONE" in page
    assert "testserver/lambda-url" not in page

    response = alice_client.post(url, {"auth_type": "AWS_IAM"})
    config.refresh_from_db()
    assert response.status_code == 302 and config.auth_type == "AWS_IAM" and config.cors == {}

    response = alice_client.post(url, {"auth_type": "NONE", "cors": "on", "allow_methods": "FETCH"})
    assert response.status_code == 400 and "FETCH" in response.content.decode()
    config.refresh_from_db()
    assert config.auth_type == "AWS_IAM"

    assert alice_client.post(reverse("function-url-delete", args=["hello"])).status_code == 302
    assert not FunctionUrlConfig.objects.exists()


def test_add_destination(alice_client, alice_account, charlie_account, fn, target):
    page = alice_client.get(reverse("function-destination-add", args=["hello"])).content.decode()
    assert "On success" in page and "On failure" in page and "Lambda function" in page
    response = alice_client.post(reverse("function-destination-add", args=["hello"]),
                                 {"condition": "OnFailure", "destination_type": "lambda", "destination": target.arn})
    assert response.status_code == 302
    config = EventInvokeConfig.objects.get(function=fn)
    assert config.on_failure == target.arn and config.on_success == ""
    other = python_function(charlie_account, HELLO, name="outsider")
    response = alice_client.post(reverse("function-destination-add", args=["hello"]),
                                 {"condition": "OnSuccess", "destination_type": "lambda", "destination": other.arn})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    config.refresh_from_db()
    assert config.on_success == "" and config.on_failure == target.arn


def test_edit_asynchronous_invocation(alice_client, fn, target):
    url = reverse("function-async-edit", args=["hello"])
    response = alice_client.post(url, {"maximum_event_age": "30", "maximum_retry_attempts": "1"})
    assert response.status_code == 400 and "greater than or equal to 60" in response.content.decode()
    assert not EventInvokeConfig.objects.exists()
    response = alice_client.post(url, {"maximum_event_age": "120", "maximum_retry_attempts": "0",
                                       "on_success": target.arn, "on_failure": ""})
    assert response.status_code == 302
    config = EventInvokeConfig.objects.get(function=fn)
    assert (config.maximum_event_age, config.maximum_retry_attempts, config.on_success) == (120, 0, target.arn)
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=async").content.decode()
    assert "120 seconds" in page and target.arn in page


def test_failed_events_are_listed(alice_client, fn):
    Invocation.objects.create(function=fn, invocation_type="Event", status="failed", error_type="Runtime.ExitError",
                              attempts=3, payload='{"order": 42}', dead_lettered=True)
    Invocation.objects.create(function=fn, invocation_type="Event", status="failed", payload='{"order": 7}')
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=async").content.decode()
    table = page.split('id="failed-events-table"')[1]
    assert "Runtime.ExitError" in table and "{&quot;order&quot;: 42}" in table and "order&quot;: 7" not in table


def test_http_apis_page_lists_and_deletes(alice_client, alice_account, fn):
    api = http_api_create(alice_account, "shop")
    route = http_route_create(api, "GET /items/{id}", fn)
    http_route_create(api, "ANY /{proxy+}", fn)
    page = alice_client.get(reverse("http-apis")).content.decode()
    assert "shop" in page and "GET /items/{id}" in page and "ANY /{proxy+}" in page and "hello" in page
    assert f'href="{reverse("http-apis")}"' in page  # linked in the top bar
    assert f"{settings.LAMBDA_TRIGGER_URL}/http-api/{api.api_id}/" in page
    alice_client.post(reverse("http-api-route-delete", args=[api.api_id, route.route_id]))
    assert list(api.routes.values_list("route_key", flat=True)) == ["ANY /{proxy+}"]
    alice_client.post(reverse("http-api-delete", args=[api.api_id]))
    assert not HttpApi.objects.exists() and not HttpRoute.objects.exists()


def test_monitor_shows_each_invocations_source(alice_client, fn):
    for source in ("console", "api", "function-url", "http-api", "schedule", "destination"):
        Invocation.objects.create(function=fn, source=source, status="succeeded")
    page = alice_client.get(reverse("function-monitor", args=["hello"])).content.decode()
    table = page.split('id="recent-invocations"')[1]
    for source in ("console", "function-url", "http-api", "schedule", "destination"):
        assert f"<td>{source}</td>" in table

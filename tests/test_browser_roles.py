"""Roles in real headless Chromium, against Daphne, a Celery worker, Redis and Docker: a function
made by the wizard with a new role, its Permissions section, and the role's inline policy edited in
the Monaco JSON editor (IAM's error shown beside it, then saved). Screenshots of each new page go
to var/screenshots/ to be looked at."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from console.iam.models import Role, RolePolicy
from console.models import Function

from .conftest import ROOT
from .test_browser import create_function

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHOTS = ROOT / "var" / "screenshots"
READ_ORDERS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "ReadOrders", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::orders", "arn:aws:s3:::orders/*"]}]}, indent=4)


def paste_into_editor(page, editor_id: str, text: str) -> None:
    """Select everything in a Monaco editor and paste `text`, as a user would."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator(f"#{editor_id} .view-lines").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_function_with_a_new_role_and_its_inline_policy(alice_page, alice_account):
    page = alice_page
    page.goto("/functions/create")
    page.get_by_label("Function name").fill("e2e-roles")
    page.get_by_text("Change default execution role").click()
    expect(page.locator("#new-role-name")).to_have_text("e2e-roles-role-<random>")
    shot(page, "create-function-execution-role")
    page.goto("/")
    create_function(page, "e2e-roles")  # the default: a new role with basic Lambda permissions
    function = Function.objects.get(account=alice_account, name="e2e-roles")
    role = Role.objects.get(account=alice_account)
    assert function.role == role.arn and re.fullmatch(r"e2e-roles-role-[a-z0-9]{8}", role.name)

    page.get_by_role("link", name="Configuration").click()
    page.locator(".subnav").get_by_role("link", name="Permissions").click()
    expect(page.locator("#execution-role-link")).to_have_text(role.name)
    expect(page.locator('#role-summary tr[data-service="logs"]')).to_contain_text("logs:CreateLogStream")
    expect(page.locator("#resource-policy")).to_contain_text("No statements")
    shot(page, "function-permissions")

    page.locator("#execution-role-link").click()
    expect(page.locator("h1")).to_have_text(role.name)
    expect(page.locator("#policies-table")).to_contain_text("AWSLambdaBasicExecutionRole")
    shot(page, "role-page")

    # A malformed document is refused with IAM's reason beside the editor, and stays as typed.
    page.get_by_role("link", name="Create inline policy").click()
    expect(page.locator("#id_document-editor")).to_have_attribute("data-ready", "true")
    paste_into_editor(page, "id_document-editor", '{"Version": "2012-10-17", "Statement": [')
    page.get_by_label("Policy name").fill("read-orders")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator("#id_document-errors")).to_contain_text("Syntax errors in policy.")
    expect(page.locator("#id_document-editor")).to_have_attribute("data-ready", "true")
    expect(page.locator("#id_document-editor .view-lines")).to_contain_text('"Statement": [')
    shot(page, "inline-policy-error")
    assert not RolePolicy.objects.exists()

    paste_into_editor(page, "id_document-editor", READ_ORDERS)
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator(".flash.success")).to_contain_text("Policy read-orders created.")
    expect(page.locator("#policy-read-orders")).to_contain_text("Customer inline")

    # Editing it: the JSON editor opens on the stored document.
    page.locator("#policy-read-orders").get_by_role("link", name="Edit").click()
    expect(page.locator("#id_document-editor")).to_have_attribute("data-ready", "true")
    expect(page.locator("#id_document-editor .view-lines")).to_contain_text("s3:ListBucket")
    shot(page, "inline-policy-edit")
    paste_into_editor(page, "id_document-editor", READ_ORDERS.replace("s3:ListBucket", "s3:PutObject"))
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash.success")).to_contain_text("Policy read-orders updated.")
    document = json.loads(RolePolicy.objects.get(role=role, name="read-orders").document)
    assert document["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]

    page.get_by_role("link", name="Trust relationships").click()
    expect(page.locator("#trusted-entities")).to_contain_text("AWS Service: lambda")
    shot(page, "role-trust")

    page.get_by_role("link", name="Permissions", exact=True).click()
    page.get_by_role("link", name="Attach policies").click()
    expect(page.locator("#attach-form")).to_contain_text("AdministratorAccess")
    shot(page, "role-attach")

    # The function's Permissions section now lists what the edited policy allows.
    page.goto("/functions/e2e-roles/configuration?section=permissions")
    s3 = page.locator('#role-summary tr[data-service="s3"]')
    expect(s3).to_contain_text("Amazon S3")
    expect(s3).to_contain_text("s3:PutObject")
    page.locator("#execution-role").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Existing role", exact=True)).to_have_value(role.name)
    shot(page, "function-role-edit")

    page.get_by_role("link", name="Roles", exact=True).click()
    expect(page.locator(f"#role-{role.name}")).to_contain_text("e2e-roles")
    shot(page, "roles-list")
    page.get_by_role("link", name="Create role").first.click()
    expect(page.locator("#id_trust_policy-editor")).to_have_attribute("data-ready", "true")
    shot(page, "role-create")

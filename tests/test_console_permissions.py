"""The function's role in the console: the wizard's "Execution role" choice, Configuration >
Permissions (the role, what it allows per service, the resource-based policy) and changing the
role. Follows AWS's "Defining Lambda function permissions with an execution role" and the
Lambda console's Create function page ("Change default execution role")."""
from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from console.iam import services
from console.iam.models import Role
from console.models import Function, FunctionPermission

from .conftest import python_function
from .test_iam_pages import BASIC, EC2_TRUST, LAMBDA_TRUST, S3_READ

SCRATCH = {"method": "scratch", "runtime": "python3.11", "architecture": "x86_64", "memory_size": "128",
           "timeout": "3"}


@pytest.fixture
def role(alice_account) -> Role:
    return services.role_create(alice_account, "orders-role", LAMBDA_TRUST)


def test_wizard_offers_the_accounts_roles_that_trust_lambda(alice_client, alice_account, role):
    services.role_create(alice_account, "ec2-role", EC2_TRUST)
    response = alice_client.get(reverse("function-create"))
    choices = dict(response.context["form"].fields["existing_role"].choices)
    assert "orders-role" in choices and "ec2-role" not in choices
    page = response.content.decode()
    assert "Create a new role with basic Lambda permissions" in page and "Use an existing role" in page
    assert re.search(r'name="execution_role" value="new"[^>]*checked', page)  # AWS's default


def test_wizard_creates_a_new_role_with_basic_permissions_by_default(alice_client, alice_account):
    response = alice_client.post(reverse("function-create"), {**SCRATCH, "function_name": "my-func",
                                                              "execution_role": "new"})
    assert response.status_code == 302
    fn = Function.objects.get(account=alice_account, name="my-func")
    role = Role.objects.get(account=alice_account)
    assert re.fullmatch(r"my-func-role-[a-z0-9]{8}", role.name) and role.path == "/service-role/"
    assert fn.role == role.arn == f"arn:aws:iam::{alice_account.account_id}:role/service-role/{role.name}"
    assert [arn for _, arn in services.role_list_attached(alice_account, role.name)] == [BASIC]


def test_wizard_posted_without_a_choice_gets_the_default(alice_client, alice_account):
    assert alice_client.post(reverse("function-create"), {**SCRATCH, "function_name": "f"}).status_code == 302
    assert Function.objects.get(name="f").role == Role.objects.get(account=alice_account).arn


def test_wizard_uses_the_existing_role_chosen(alice_client, alice_account, role):
    response = alice_client.post(reverse("function-create"), {
        **SCRATCH, "function_name": "my-func", "execution_role": "existing", "existing_role": "orders-role"})
    assert response.status_code == 302
    assert Function.objects.get(name="my-func").role == role.arn
    assert Role.objects.count() == 1


def test_wizard_existing_role_must_be_chosen_and_trust_lambda(alice_client, alice_account, role):
    services.role_create(alice_account, "ec2-role", EC2_TRUST)
    for chosen in ("", "ec2-role", "no-such-role"):
        response = alice_client.post(reverse("function-create"), {
            **SCRATCH, "function_name": "my-func", "execution_role": "existing", "existing_role": chosen})
        assert response.status_code == 200
        assert response.context["form"].errors["existing_role"], chosen
        assert 'id="execution-role" open' in response.content.decode()  # the choice stays in view
    assert not Function.objects.exists()


def test_wizard_refused_function_leaves_no_new_role(alice_client, alice_account):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="taken")
    response = alice_client.post(reverse("function-create"), {**SCRATCH, "function_name": "taken",
                                                              "execution_role": "new"})
    assert response.status_code == 200 and response.context["form"].errors["function_name"]
    assert not Role.objects.exists()


def test_permissions_section_shows_role_summary_and_resource_policy(alice_client, alice_account, role):
    services.role_attach_policy(alice_account, role.name, BASIC)
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    # As GetPolicy shows a statement AddPermission made for an EventBridge rule.
    FunctionPermission.objects.create(function=fn, statement_id="nightly-rule", statement={
        "Sid": "nightly-rule", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": fn.arn,
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:111111111111:rule/nightly"}}})
    FunctionPermission.objects.create(function=fn, qualifier="live", statement_id="partner", statement={
        "Sid": "partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "lambda:InvokeFunction", "Resource": fn.arn + ":live"})

    page = alice_client.get(reverse("function-configuration", args=["orders"]) + "?section=permissions")
    html = page.content.decode()
    assert f'href="{reverse("iam-role", args=["orders-role"])}" id="execution-role-link">orders-role</a>' in html
    assert role.arn in html and "AWS Service: lambda" in html

    summary = re.search(r'<table class="grid" id="role-summary">.*?</table>', html, re.S).group(0)
    logs = re.search(r'<tr data-service="logs">.*?</tr>', summary, re.S).group(0)
    assert "Amazon CloudWatch Logs" in logs and "logs:CreateLogGroup" in logs and "logs:PutLogEvents" in logs
    s3 = re.search(r'<tr data-service="s3">.*?</tr>', summary, re.S).group(0)
    assert "Amazon S3" in s3 and "s3:GetObject" in s3 and "s3:ListBucket" in s3

    statements = re.search(r'<table class="grid" id="statements-table">.*?</table>', html, re.S).group(0)
    rule = re.search(r'<tr id="statement-nightly-rule">.*?</tr>', statements, re.S).group(0)
    assert "events.amazonaws.com" in rule and "lambda:InvokeFunction" in rule
    assert "ArnLike AWS:SourceArn: arn:aws:events:us-east-1:111111111111:rule/nightly" in rule
    partner = re.search(r'<tr id="statement-partner">.*?</tr>', statements, re.S).group(0)
    assert "arn:aws:iam::333333333333:root" in partner and "(live)" in partner


def test_permissions_section_of_a_role_that_allows_nothing(alice_client, alice_account, role):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    html = alice_client.get(reverse("function-configuration", args=["orders"]) + "?section=permissions").content
    assert b"No permissions" in html and b"No statements" in html


def test_change_the_execution_role(alice_client, alice_account, role):
    other = services.role_create(alice_account, "other-role", LAMBDA_TRUST)
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    url = reverse("function-role-edit", args=["orders"])
    form = alice_client.get(url).context["form"]
    assert form["existing_role"].value() == "orders-role" and form["execution_role"].value() == "existing"
    revision = fn.revision_id
    response = alice_client.post(url, {"execution_role": "existing", "existing_role": "other-role"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("function-configuration", args=["orders"]) + "?section=permissions"
    assert "Successfully updated the function orders." in response.content.decode()
    fn.refresh_from_db()
    assert fn.role == other.arn and fn.revision_id != revision  # a new role retires warm environments

    alice_client.post(url, {"execution_role": "new"})
    fn.refresh_from_db()
    assert re.fullmatch(r".*:role/service-role/orders-role-[a-z0-9]{8}", fn.role)


def test_change_refuses_a_role_lambda_cannot_assume(alice_client, alice_account, role):
    services.role_create(alice_account, "ec2-role", EC2_TRUST)
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    response = alice_client.post(reverse("function-role-edit", args=["orders"]),
                                 {"execution_role": "existing", "existing_role": "ec2-role"})
    assert response.status_code == 400 and response.context["form"].errors["existing_role"]
    fn.refresh_from_db()
    assert fn.role == role.arn


def test_outsider_cannot_see_or_change_the_role(charlie_client, alice_account, role):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    assert charlie_client.get(reverse("function-role-edit", args=["orders"])).status_code == 404
    assert charlie_client.post(reverse("function-role-edit", args=["orders"]),
                               {"execution_role": "new"}).status_code == 404
    assert charlie_client.get(reverse("function-configuration", args=["orders"]) + "?section=permissions"
                              ).status_code == 404
    assert Role.objects.count() == 1
    assert json.loads(Role.objects.get().assume_role_policy) == json.loads(LAMBDA_TRUST)

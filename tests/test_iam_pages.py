"""IAM > Roles through Django's test client: the list, creating a role, a role's page, inline
policies (IAM's validation errors beside the editor, nothing changed), managed policies attached
and detached, the trust policy, deleting, and ownership.

Layout and wording follow AWS's IAM console ("Creating a role to delegate permissions to an AWS
service", "Adding and removing IAM identity permissions", "Modifying a role trust policy").
"""
from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from console.iam import services
from console.iam.models import Role, RolePolicy, RolePolicyAttachment

from .conftest import python_function

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
S3_READ = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]})


@pytest.fixture
def role(alice_account) -> Role:
    return services.role_create(alice_account, "orders-role", LAMBDA_TRUST, description="Reads the orders bucket")


def errors_beside(page: str, field_id: str) -> str:
    """The text of the error box next to a policy editor (IAM's console shows them beside the field)."""
    match = re.search(rf'<div class="policy-errors"[^>]*id="{field_id}-errors">(.*?)</div>', page, re.S)
    assert match, f"no errors beside {field_id}"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def test_roles_pages_need_login(client, role):
    for url in (reverse("iam-roles"), reverse("iam-role-create"), reverse("iam-role", args=[role.name])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_roles_list_shows_trusted_entities_and_functions(alice_client, alice_account, role):
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    services.role_create(alice_account, "ec2-role", EC2_TRUST)
    page = alice_client.get(reverse("iam-roles")).content.decode()
    assert "Roles <span class=\"counter\">(2)</span>" in page
    row = re.search(r'<tr id="role-orders-role">.*?</tr>', page, re.S).group(0)
    assert "AWS Service: lambda" in row and ">orders</a>" in row and "Reads the orders bucket" in row
    assert "AWS Service: ec2" in re.search(r'<tr id="role-ec2-role">.*?</tr>', page, re.S).group(0)
    assert 'href="/iam/roles"' in alice_client.get(reverse("functions")).content.decode()  # in the navigation


def test_roles_list_shows_only_the_accounts_roles(charlie_client, role):
    page = charlie_client.get(reverse("iam-roles")).content.decode()
    assert "orders-role" not in page and "No roles" in page


def test_create_role_form_proposes_lambdas_trust_and_basic_execution(alice_client, db):
    response = alice_client.get(reverse("iam-role-create"))
    form = response.context["form"]
    assert json.loads(form["trust_policy"].value())["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    assert form["policies"].value() == [BASIC]
    page = response.content.decode()
    assert "AWSLambdaBasicExecutionRole" in page and "AdministratorAccess" in page
    assert "data-json-editor" in page and "monaco-editor-0.52.2/vs/loader.js" in page


def test_create_role_with_policies_opens_its_page(alice_client, alice_account):
    response = alice_client.post(reverse("iam-role-create"), {
        "trust_policy": LAMBDA_TRUST, "policies": [BASIC, ADMIN], "name": "worker-role",
        "description": "Runs the workers"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("iam-role", args=["worker-role"])
    role = Role.objects.get(account=alice_account, name="worker-role")
    assert role.description == "Runs the workers" and json.loads(role.assume_role_policy) == json.loads(LAMBDA_TRUST)
    assert set(RolePolicyAttachment.objects.filter(role=role).values_list("policy_arn", flat=True)) == {BASIC, ADMIN}
    page = response.content.decode()
    assert "Role worker-role created." in page
    assert f"arn:aws:iam::{alice_account.account_id}:role/worker-role" in page


def test_create_role_refuses_a_malformed_trust_policy_beside_the_editor(alice_client, alice_account):
    response = alice_client.post(reverse("iam-role-create"), {
        "trust_policy": '{"Version": "2012-10-17", "Statement": [', "name": "broken-role"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This policy contains invalid Json" in errors_beside(page, "id_trust_policy")
    assert "broken-role" in page and "&quot;Statement&quot;: [" in page  # the input is kept
    assert not Role.objects.filter(account=alice_account).exists()


def test_create_role_refuses_a_trust_policy_without_principal(alice_client, alice_account):
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
    response = alice_client.post(reverse("iam-role-create"), {"trust_policy": no_principal, "name": "r"})
    assert response.status_code == 400
    assert errors_beside(response.content.decode(), "id_trust_policy").strip()
    assert not Role.objects.exists()


@pytest.mark.parametrize("name", ["has space", "x" * 65, "semi;colon", ""])
def test_create_role_refuses_bad_names(alice_client, alice_account, name):
    response = alice_client.post(reverse("iam-role-create"), {"trust_policy": LAMBDA_TRUST, "name": name})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not Role.objects.exists()


def test_create_role_refuses_a_name_in_use_whatever_its_case(alice_client, role):
    response = alice_client.post(reverse("iam-role-create"), {
        "trust_policy": LAMBDA_TRUST, "policies": [BASIC], "name": "ORDERS-role"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert Role.objects.count() == 1 and not RolePolicyAttachment.objects.exists()


def test_role_page_shows_summary_policies_trust_and_functions(alice_client, alice_account, role):
    services.role_attach_policy(alice_account, role.name, BASIC)
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    page = alice_client.get(reverse("iam-role", args=[role.name])).content.decode()
    assert role.arn in page and role.role_id in page and "Reads the orders bucket" in page
    assert "1 hour" in page
    table = re.search(r'<table class="grid" id="policies-table">.*?</table>', page, re.S).group(0)
    assert "AWSLambdaBasicExecutionRole" in table and "AWS managed" in table
    assert "read-orders" in table and "Customer inline" in table and "s3:GetObject" in table
    assert "cannot be deleted while a function uses it" in page

    trust = alice_client.get(reverse("iam-role", args=[role.name]) + "?tab=trust").content.decode()
    assert "AWS Service: lambda" in trust and "lambda.amazonaws.com" in trust
    functions = alice_client.get(reverse("iam-role", args=[role.name]) + "?tab=functions").content.decode()
    assert f'href="{reverse("function", args=["orders"])}"' in functions


def test_inline_policy_create_and_show(alice_client, alice_account, role):
    form = alice_client.get(reverse("iam-role-policy-create", args=[role.name])).context["form"]
    assert json.loads(form["document"].value())["Version"] == "2012-10-17"
    response = alice_client.post(reverse("iam-role-policy-create", args=[role.name]),
                                 {"name": "read-orders", "document": S3_READ}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("iam-role", args=[role.name]) + "?tab=permissions"
    assert "Policy read-orders created." in response.content.decode()
    assert json.loads(RolePolicy.objects.get(role=role, name="read-orders").document) == json.loads(S3_READ)
    assert Role.objects.get(pk=role.pk).revision > role.revision  # what permission caches key on


@pytest.mark.parametrize("document, reason", [
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",,}]}', "Syntax errors in policy."),
    ("[]", ""),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}), ""),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                         "Resource": "*", "Principal": "*"}]}), ""),
])
def test_inline_policy_refused_with_iams_reason_beside_the_editor(alice_client, role, document, reason):
    response = alice_client.post(reverse("iam-role-policy-create", args=[role.name]),
                                 {"name": "bad", "document": document})
    assert response.status_code == 400
    shown = errors_beside(response.content.decode(), "id_document")
    assert shown.strip() and reason in shown
    assert response.context["form"]["document"].value() == document  # what was typed stays in the editor
    assert not RolePolicy.objects.exists()


def test_inline_policy_name_must_be_new_when_creating(alice_client, alice_account, role):
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    response = alice_client.post(reverse("iam-role-policy-create", args=[role.name]),
                                 {"name": "Read-Orders", "document": S3_READ.replace("ListBucket", "PutObject")})
    assert response.status_code == 400 and response.context["form"].errors["name"]
    assert "ListBucket" in RolePolicy.objects.get(role=role).document


def test_inline_policy_edit_changes_the_document_not_the_name(alice_client, alice_account, role):
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    url = reverse("iam-role-policy", args=[role.name, "read-orders"])
    page = alice_client.get(url).content.decode()
    assert "Modify permissions in read-orders" in page and "s3:ListBucket" in page
    changed = S3_READ.replace("s3:ListBucket", "s3:PutObject")
    response = alice_client.post(url, {"name": "renamed", "document": changed})
    assert response.status_code == 302
    assert [(p.name, "s3:PutObject" in p.document) for p in RolePolicy.objects.filter(role=role)] == [
        ("read-orders", True)]


def test_inline_policy_edit_refused_keeps_the_old_document(alice_client, alice_account, role):
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    response = alice_client.post(reverse("iam-role-policy", args=[role.name, "read-orders"]),
                                 {"document": "not json"})
    assert response.status_code == 400
    assert "Syntax errors in policy." in errors_beside(response.content.decode(), "id_document")
    assert RolePolicy.objects.get(role=role).document == S3_READ


def test_inline_policy_delete(alice_client, alice_account, role):
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    response = alice_client.post(reverse("iam-role-policy-delete", args=[role.name, "read-orders"]), follow=True)
    assert "Policy read-orders removed from the role orders-role." in response.content.decode()
    assert not RolePolicy.objects.exists()
    assert alice_client.get(reverse("iam-role-policy", args=[role.name, "read-orders"])).status_code == 404


def test_trust_policy_edit(alice_client, alice_account, role):
    url = reverse("iam-role-trust", args=[role.name])
    assert "lambda.amazonaws.com" in alice_client.get(url).content.decode()
    refused = alice_client.post(url, {"document": '{"Version": "2012-10-17"'})
    assert refused.status_code == 400
    assert "This policy contains invalid Json" in errors_beside(refused.content.decode(), "id_document")
    assert Role.objects.get(pk=role.pk).assume_role_policy == LAMBDA_TRUST
    response = alice_client.post(url, {"document": EC2_TRUST}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("iam-role", args=[role.name]) + "?tab=trust"
    assert "AWS Service: ec2" in response.content.decode()
    assert json.loads(Role.objects.get(pk=role.pk).assume_role_policy) == json.loads(EC2_TRUST)


def test_attach_lists_what_is_not_attached_and_detach_removes(alice_client, alice_account, role):
    services.role_attach_policy(alice_account, role.name, BASIC)
    url = reverse("iam-role-attach", args=[role.name])
    choices = dict(alice_client.get(url).context["form"].fields["policies"].choices)
    assert ADMIN in choices and BASIC not in choices
    nothing = alice_client.post(url, {})
    assert nothing.status_code == 400 and "Choose at least one policy to attach." in nothing.content.decode()
    response = alice_client.post(url, {"policies": [ADMIN]}, follow=True)
    assert "Policy AdministratorAccess attached to the role orders-role." in response.content.decode()
    assert set(a for _, a in services.role_list_attached(alice_account, role.name)) == {BASIC, ADMIN}

    response = alice_client.post(reverse("iam-role-detach", args=[role.name]), {"policy_arn": BASIC}, follow=True)
    assert "Policy AWSLambdaBasicExecutionRole detached from the role orders-role." in response.content.decode()
    assert [a for _, a in services.role_list_attached(alice_account, role.name)] == [ADMIN]


def test_delete_is_refused_with_the_reason_while_in_use(alice_client, alice_account, role):
    services.role_attach_policy(alice_account, role.name, BASIC)
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n", name="orders", role=role.arn)
    response = alice_client.post(reverse("iam-role-delete", args=[role.name]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("iam-role", args=[role.name])
    page = response.content.decode()
    assert "The role orders-role was not deleted:" in page and 'class="flash error"' in page
    assert Role.objects.filter(pk=role.pk).exists()

    fn.delete()
    services.role_detach_policy(alice_account, role.name, BASIC)
    response = alice_client.post(reverse("iam-role-delete", args=[role.name]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("iam-roles")
    assert "Role orders-role deleted." in response.content.decode()
    assert not Role.objects.exists()


def test_outsider_gets_404_and_changes_nothing(charlie_client, alice_account, role):
    services.role_put_policy(alice_account, role.name, "read-orders", S3_READ)
    name = role.name
    for url in (reverse("iam-role", args=[name]), reverse("iam-role-trust", args=[name]),
                reverse("iam-role-attach", args=[name]), reverse("iam-role-policy-create", args=[name]),
                reverse("iam-role-policy", args=[name, "read-orders"])):
        assert charlie_client.get(url).status_code == 404, url
    posts = [(reverse("iam-role-delete", args=[name]), {}),
             (reverse("iam-role-trust", args=[name]), {"document": EC2_TRUST}),
             (reverse("iam-role-attach", args=[name]), {"policies": [ADMIN]}),
             (reverse("iam-role-detach", args=[name]), {"policy_arn": BASIC}),
             (reverse("iam-role-policy", args=[name, "read-orders"]), {"document": S3_READ}),
             (reverse("iam-role-policy-delete", args=[name, "read-orders"]), {})]
    for url, data in posts:
        assert charlie_client.post(url, data).status_code == 404, url
    role.refresh_from_db()
    assert role.assume_role_policy == LAMBDA_TRUST and RolePolicy.objects.filter(role=role).count() == 1
    assert not RolePolicyAttachment.objects.exists()


def test_names_with_every_allowed_character_have_working_pages(alice_client, alice_account):
    # IAM allows "+=,.@-_" in role and policy names: each must still reach its own page.
    role = services.role_create(alice_account, "svc.role+a=b,c@d-e_f", LAMBDA_TRUST)
    services.role_put_policy(alice_account, role.name, "read+orders@v1", S3_READ)
    page = alice_client.get(reverse("iam-role", args=[role.name]))
    assert page.status_code == 200 and "read+orders@v1" in page.content.decode()
    edit = alice_client.get(reverse("iam-role-policy", args=[role.name, "read+orders@v1"]))
    assert edit.status_code == 200 and "s3:ListBucket" in edit.content.decode()
    # A role named "create" does not hide the create page, nor the create page the role.
    services.role_create(alice_account, "create", LAMBDA_TRUST)
    assert "Create role" in alice_client.get(reverse("iam-role-create")).content.decode()
    assert alice_client.get(reverse("iam-role", args=["create"])).context["role"].name == "create"

"""The console's pages through Django's test client: forms, errors beside fields, ownership."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from console.codestore import make_zip
from console.models import Alias, Function, TestEvent, Version
from console.services.versions import version_publish

from .conftest import python_function

HELLO = "def lambda_handler(event, context):\n    return {'hello': event.get('name')}\n"


@pytest.fixture
def fn(alice_account):
    return python_function(alice_account, HELLO, name="hello")


def test_login_page_has_the_aws_labels(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "Username" in page and "Password" in page and "Log in" in page


def test_login_lands_on_the_functions_list(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and response.url == reverse("functions")


def test_pages_need_login(client, fn):
    response = client.get(reverse("function", args=["hello"]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_functions_list_shows_only_the_accounts_functions(alice_client, charlie_client, fn):
    assert "hello" in alice_client.get(reverse("functions")).content.decode()
    page = charlie_client.get(reverse("functions")).content.decode()
    assert "hello" not in page and "No functions" in page


def test_create_function_from_scratch_opens_it_with_a_message(alice_client, alice_account):
    response = alice_client.post(reverse("function-create"), {
        "method": "scratch", "function_name": "my-func", "runtime": "python3.11", "architecture": "arm64",
        "memory_size": "256", "timeout": "10", "description": "mine"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("function", args=["my-func"])
    page = response.content.decode()
    assert "Successfully created the function my-func" in page
    assert "arn:aws:lambda:us-east-1:111111111111:function:my-func" in page
    fn = Function.objects.get(account=alice_account, name="my-func")
    assert (fn.runtime, fn.handler, fn.memory_size, fn.timeout, fn.architecture) == (
        "python3.11", "lambda_function.lambda_handler", 256, 10, "arm64")


@pytest.mark.parametrize("key", ["hello-world-python", "hello-world-nodejs", "http-api-python",
                                 "scheduled-job-python", "sqs-batch-python"])
def test_create_function_from_blueprint(alice_client, alice_account, key):
    response = alice_client.post(reverse("function-create"), {
        "method": "blueprint", "blueprint": key, "function_name": "bp", "runtime": "python3.11",
        "architecture": "x86_64", "memory_size": "128", "timeout": "3"})
    assert response.status_code == 302
    assert Function.objects.get(account=alice_account, name="bp").code_size > 0


@pytest.mark.parametrize("name", ["bad name", "x" * 65, "semi;colon"])
def test_create_rejects_invalid_names_beside_the_field_and_keeps_input(alice_client, alice_account, name):
    response = alice_client.post(reverse("function-create"), {
        "method": "scratch", "function_name": name, "runtime": "python3.11", "architecture": "x86_64",
        "memory_size": "128", "timeout": "3", "description": "kept text"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page and "kept text" in page
    assert not Function.objects.exists()


def test_create_rejects_duplicate_names(alice_client, fn):
    response = alice_client.post(reverse("function-create"), {
        "method": "scratch", "function_name": "hello", "runtime": "python3.11", "architecture": "x86_64",
        "memory_size": "128", "timeout": "3"})
    assert "Function already exist: hello" in response.content.decode()
    assert Function.objects.count() == 1


def test_create_rejects_memory_out_of_range(alice_client, alice_account):
    response = alice_client.post(reverse("function-create"), {
        "method": "scratch", "function_name": "big", "runtime": "python3.11", "architecture": "x86_64",
        "memory_size": "20000", "timeout": "3"})
    assert response.status_code == 200 and "10240" in response.content.decode()
    assert not Function.objects.exists()


def test_create_container_image_needs_a_local_image(alice_client, alice_account):
    response = alice_client.post(reverse("function-create"), {
        "method": "image", "function_name": "img", "image_uri": "no-such-image:never", "architecture": "x86_64",
        "memory_size": "128", "timeout": "3"})
    assert "Source image no-such-image:never is not valid" in response.content.decode()
    assert not Function.objects.exists()


def test_every_function_page_renders_for_the_owner(alice_client, fn):
    for name in ("function", "function-test", "function-monitor", "function-configuration", "function-aliases",
                 "function-versions", "function-logs"):
        response = alice_client.get(reverse(name, args=["hello"]))
        assert response.status_code == 200, name
    for section in ("general", "environment", "concurrency", "tags"):
        assert alice_client.get(reverse("function-configuration", args=["hello"]) + f"?section={section}").status_code == 200


OWNED_GETS = ["function", "function-test", "function-monitor", "function-metrics", "function-configuration",
              "function-aliases", "function-versions", "function-logs", "function-code-files",
              "function-code-download"]
OWNED_POSTS = [("function-delete", {"confirm": "delete"}), ("function-code-deploy", None),
               ("function-code-upload", {}), ("function-runtime-settings", {"runtime": "python3.11", "handler": "a.b"}),
               ("function-test", {"name": "e", "body": "{}"}), ("function-invoke", {"body": "{}"}),
               ("function-versions", {}), ("function-aliases", {"name": "live", "function_version": "$LATEST"})]


@pytest.mark.parametrize("name", OWNED_GETS)
def test_another_accounts_function_is_404_on_every_page(charlie_client, fn, name):
    assert charlie_client.get(reverse(name, args=["hello"])).status_code == 404


@pytest.mark.parametrize("name,data", OWNED_POSTS)
def test_another_accounts_function_is_404_on_every_post(charlie_client, fn, name, data):
    if data is None:
        response = charlie_client.post(reverse(name, args=["hello"]), json.dumps({"files": []}),
                                       content_type="application/json")
    else:
        response = charlie_client.post(reverse(name, args=["hello"]), data)
    assert response.status_code == 404
    assert Function.objects.filter(name="hello").exists()
    assert not TestEvent.objects.exists() and not Version.objects.exists() and not Alias.objects.exists()


@pytest.mark.parametrize("section", ["general", "environment", "concurrency", "tags"])
def test_another_accounts_configuration_posts_are_404(charlie_client, fn, section):
    url = reverse("function-configuration-update", args=["hello", section])
    assert charlie_client.post(url, {"memory_size": "256"}).status_code == 404


def test_other_accounts_aliases_and_events_are_404(charlie_client, fn, alice):
    Alias.objects.create(function=fn, name="live", function_version="$LATEST")
    TestEvent.objects.create(function=fn, name="ev", body="{}", owner=alice, shareable=True)
    assert charlie_client.post(reverse("function-alias-delete", args=["hello", "live"])).status_code == 404
    assert charlie_client.get(reverse("function-alias-edit", args=["hello", "live"])).status_code == 404
    assert charlie_client.post(reverse("function-test-event-delete", args=["hello", "ev"])).status_code == 404
    assert Alias.objects.exists() and TestEvent.objects.exists()


def test_forms_need_a_csrf_token(alice, fn):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("function-configuration-update", args=["hello", "general"]),
                       {"memory_size": "256", "timeout": "3", "ephemeral_storage": "512"}).status_code == 403
    assert client.post(reverse("function-code-deploy", args=["hello"]), "{}",
                       content_type="application/json").status_code == 403
    assert client.post(reverse("function-delete", args=["hello"]), {"confirm": "delete"}).status_code == 403
    assert Function.objects.get(name="hello").memory_size == 128


def test_delete_needs_confirmation(alice_client, fn):
    alice_client.post(reverse("function-delete", args=["hello"]), {"confirm": "nope"})
    assert Function.objects.filter(name="hello").exists()
    response = alice_client.post(reverse("function-delete", args=["hello"]), {"confirm": "delete"}, follow=True)
    assert "Successfully deleted the function hello" in response.content.decode()
    assert not Function.objects.filter(name="hello").exists()


def test_code_files_and_deploy(alice_client, fn):
    files = alice_client.get(reverse("function-code-files", args=["hello"])).json()["files"]
    assert files == [{"path": "lambda_function.py", "content": HELLO, "binary": False}]
    old_sha = fn.code_sha256
    response = alice_client.post(reverse("function-code-deploy", args=["hello"]), json.dumps({"files": [
        {"path": "lambda_function.py", "content": "import util\ndef lambda_handler(e, c):\n    return util.x\n"},
        {"path": "util/__init__.py", "content": "x = 1\n"}]}), content_type="application/json")
    assert response.status_code == 200, response.content
    fn.refresh_from_db()
    assert fn.code_sha256 != old_sha
    paths = [f["path"] for f in alice_client.get(reverse("function-code-files", args=["hello"])).json()["files"]]
    assert paths == ["lambda_function.py", "util/__init__.py"]


def test_deploy_with_a_bad_path_keeps_the_old_code(alice_client, fn):
    old_sha = fn.code_sha256
    response = alice_client.post(reverse("function-code-deploy", args=["hello"]), json.dumps({"files": [
        {"path": "../evil.py", "content": "x"}]}), content_type="application/json")
    assert response.status_code == 400 and "not a valid file name" in response.json()["error"]
    fn.refresh_from_db()
    assert fn.code_sha256 == old_sha


def test_upload_zip_and_download(alice_client, fn):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = make_zip({"lambda_function.py": "def lambda_handler(e, c):\n    return 2\n"})
    response = alice_client.post(reverse("function-code-upload", args=["hello"]),
                                 {"zip_file": SimpleUploadedFile("code.zip", data, "application/zip")})
    assert response.status_code == 302
    download = alice_client.get(reverse("function-code-download", args=["hello"]))
    assert b"".join(download.streaming_content) == data


def test_upload_that_is_not_a_zip_is_refused_beside_the_field(alice_client, fn):
    from django.core.files.uploadedfile import SimpleUploadedFile

    old_sha = fn.code_sha256
    response = alice_client.post(reverse("function-code-upload", args=["hello"]),
                                 {"zip_file": SimpleUploadedFile("code.zip", b"not a zip", "application/zip")})
    assert response.status_code == 400 and "Could not unzip uploaded file" in response.content.decode()
    fn.refresh_from_db()
    assert fn.code_sha256 == old_sha


def test_runtime_settings_validate_the_handler(alice_client, fn):
    response = alice_client.post(reverse("function-runtime-settings", args=["hello"]),
                                 {"runtime": "python3.11", "handler": "nodot"})
    assert response.status_code == 400 and "module.function" in response.content.decode()
    alice_client.post(reverse("function-runtime-settings", args=["hello"]),
                      {"runtime": "python3.11", "handler": "app.main"})
    fn.refresh_from_db()
    assert fn.handler == "app.main"


def test_save_test_event_and_reject_invalid_json_with_its_line(alice_client, fn):
    response = alice_client.post(reverse("function-test", args=["hello"]),
                                 {"name": "broken", "body": '{\n  "a": 1,\n  "b": \n}'})
    page = response.content.decode()
    assert response.status_code == 400 and "line 4" in page and "&quot;a&quot;: 1" in page
    assert not TestEvent.objects.exists()
    response = alice_client.post(reverse("function-test", args=["hello"]),
                                 {"name": "good", "body": '{"name": "x"}', "shareable": "on"}, follow=True)
    assert "The test event good was successfully saved" in response.content.decode()
    event = TestEvent.objects.get(name="good")
    assert event.shareable and event.body == '{"name": "x"}'


def test_private_test_events_are_hidden_from_other_users_of_the_account(alice_client, fn, alice, alice_account):
    from console.services.accounts import user_create

    bob = user_create("bob", "bob-password-1", account=alice_account)
    TestEvent.objects.create(function=fn, name="mine", body="{}", owner=alice)
    TestEvent.objects.create(function=fn, name="ours", body="{}", owner=alice, shareable=True)
    other = Client()
    other.force_login(bob)
    page = other.get(reverse("function-test", args=["hello"])).content.decode()
    assert "ours" in page and "mine" not in page


def test_configuration_errors_keep_input_and_change_nothing(alice_client, fn):
    url = reverse("function-configuration-update", args=["hello", "general"])
    response = alice_client.post(url, {"description": "new words", "memory_size": "64", "timeout": "3",
                                       "ephemeral_storage": "512"})
    page = response.content.decode()
    assert response.status_code == 400 and "between 128 and 10240" in page and "new words" in page
    fn.refresh_from_db()
    assert fn.memory_size == 128 and fn.description == ""
    response = alice_client.post(url, {"description": "ok", "memory_size": "256", "timeout": "30",
                                       "ephemeral_storage": "1024"})
    assert response.status_code == 302
    fn.refresh_from_db()
    assert (fn.memory_size, fn.timeout, fn.ephemeral_storage, fn.description) == (256, 30, 1024, "ok")


def test_environment_over_4kb_is_refused(alice_client, fn):
    url = reverse("function-configuration-update", args=["hello", "environment"])
    response = alice_client.post(url, {"key_0": "BIG", "value_0": "x" * 5000})
    assert response.status_code == 400 and "4KB" in response.content.decode()
    fn.refresh_from_db()
    assert fn.environment == {}
    old_revision = fn.revision_id
    alice_client.post(url, {"key_0": "GREETING", "value_0": "hi", "key_1": "", "value_1": ""})
    fn.refresh_from_db()
    assert fn.environment == {"GREETING": "hi"} and fn.revision_id != old_revision


def test_concurrency_and_tags(alice_client, fn):
    alice_client.post(reverse("function-configuration-update", args=["hello", "concurrency"]),
                      {"mode": "reserved", "reserved_concurrency": "5"})
    alice_client.post(reverse("function-configuration-update", args=["hello", "tags"]),
                      {"key_0": "team", "value_0": "core"})
    fn.refresh_from_db()
    assert fn.reserved_concurrency == 5 and fn.tags == {"team": "core"}
    # As AWS's console, the section shows what the account's other functions have left.
    page = alice_client.get(reverse("function-configuration", args=["hello"]) + "?section=concurrency")
    assert "Unreserved account concurrency: <strong class=\"unreserved-concurrency\">45</strong> of 50" in (
        page.content.decode())
    alice_client.post(reverse("function-configuration-update", args=["hello", "concurrency"]), {"mode": "unreserved"})
    fn.refresh_from_db()
    assert fn.reserved_concurrency is None


def test_publish_version_and_create_alias(alice_client, fn):
    response = alice_client.post(reverse("function-versions", args=["hello"]), {"description": "first"}, follow=True)
    assert "Successfully created version 1" in response.content.decode()
    response = alice_client.post(reverse("function-aliases", args=["hello"]),
                                 {"name": "live", "function_version": "1", "description": "prod"}, follow=True)
    assert "Successfully created alias live" in response.content.decode()
    alias = Alias.objects.get(name="live")
    assert alias.function_version == "1"
    response = alice_client.post(reverse("function-aliases", args=["hello"]),
                                 {"name": "live", "function_version": "1"})
    assert response.status_code == 400 and "Alias already exists" in response.content.decode()


def test_edit_alias_with_weighted_routing(alice_client, fn):
    version_publish(fn)
    fn.memory_size = 256
    fn.save()
    from console.services.functions import function_update_configuration

    function_update_configuration(fn, memory_size=512)
    version_publish(fn)
    Alias.objects.create(function=fn, name="live", function_version="1")
    response = alice_client.post(reverse("function-alias-edit", args=["hello", "live"]),
                                 {"function_version": "1", "additional_version": "2", "weight": "25"})
    assert response.status_code == 302
    assert Alias.objects.get(name="live").routing_config == {"2": 0.25}


def test_metrics_json(alice_client, fn):
    data = alice_client.get(reverse("function-metrics", args=["hello"]) + "?period=3h").json()
    assert data["period"] == "3h" and len(data["invocations"]) == 36

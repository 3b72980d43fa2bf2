"""Functions packaged as container images: their own entry point and ImageConfig, and which images
an account may run (its own ECR repositories and the operator's allow-list, nothing else)."""
from __future__ import annotations

import json
import subprocess
import textwrap
import uuid

import pytest
from django.urls import reverse

from console.errors import InvalidParameterValue, ServiceError
from console.models import Function
from console.services.functions import function_create, function_delete, function_update_code
from executor import containers, images
from executor.invoke import invoke

from .api_helpers import lambda_role
from .conftest import eventually

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]  # image tags are shared by everyone using the engine: keep this run's apart
IMAGE = f"lambda-test/image-function-{RUN}:latest"
ALICE_ECR = "111111111111.dkr.ecr.us-east-1.amazonaws.com"  # alice_account's own registry
CHARLIE_ECR = "222222222222.dkr.ecr.us-east-1.amazonaws.com"
TIMEOUT = 30  # a cold start on a busy test machine may pass Lambda's default 3 s
DOCKER_ENV = {"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, env=DOCKER_ENV)


def _build(context, dockerfile: str, tag: str) -> None:
    (context / "Dockerfile").write_text(dockerfile)
    _docker("build", "-q", "-t", tag, str(context))


@pytest.fixture(scope="module")
def function_image(tmp_path_factory):
    """A user's image built on our Python base image, as users build on AWS's."""
    context = tmp_path_factory.mktemp("image")
    (context / "app.py").write_text(textwrap.dedent("""
        import os
        def handler(event, context):
            return {"handler": "handler", "cwd": os.getcwd()}
        def other(event, context):
            return {"handler": "other", "cwd": os.getcwd()}
    """))
    _build(context, 'FROM lambda-runtime/python3.11:latest\nCOPY app.py /var/task/app.py\nCMD ["app.handler"]\n', IMAGE)
    yield IMAGE
    subprocess.run(["docker", "rmi", "-f", IMAGE], capture_output=True)


@pytest.fixture
def tagged(function_image):
    """Tag the image under other names (an ECR repository, say) for one test; removed after."""
    tags = []

    def tag(name: str) -> str:
        _docker("tag", function_image, name)
        tags.append(name)
        return name

    yield tag
    for name in tags:
        subprocess.run(["docker", "rmi", name], capture_output=True)


@pytest.fixture
def own_image(tagged) -> str:
    """The image pushed, as it were, to alice's own ECR repository."""
    return tagged(f"{ALICE_ECR}/image-function-{RUN}:latest")


def test_image_function_runs_the_images_own_command(worker, alice_account, own_image):
    fn = function_create(alice_account, "from-image", package_type="Image", image_uri=own_image, timeout=TIMEOUT)
    result = invoke(fn, "{}")
    assert result.function_error is None, result.payload
    assert json.loads(result.payload) == {"handler": "handler", "cwd": "/var/task"}


def test_image_config_overrides_command_and_working_directory(worker, alice_account, own_image):
    fn = function_create(alice_account, "from-image-config", package_type="Image", image_uri=own_image,
                         timeout=TIMEOUT,
                         image_config={"Command": ["app.other"], "WorkingDirectory": "/tmp"})
    assert json.loads(invoke(fn, "{}").payload) == {"handler": "other", "cwd": "/tmp"}


def test_image_config_overrides_entry_point(worker, alice_account, own_image):
    entry = ["/usr/bin/python3.11", "-S", "-c",
             "import sys; sys.path[0] = '/var/runtime'; import bootstrap; bootstrap.main()"]
    fn = function_create(alice_account, "from-image-entry", package_type="Image", image_uri=own_image,
                         timeout=TIMEOUT,
                         image_config={"EntryPoint": entry, "Command": ["app.other"]})
    assert json.loads(invoke(fn, "{}").payload)["handler"] == "other"


def test_image_removed_after_create_fails_the_invocation_clearly(worker, alice_account, tagged):
    image = tagged(f"{ALICE_ECR}/short-lived-{RUN}:latest")
    fn = function_create(alice_account, "no-image", package_type="Image", image_uri=image, timeout=TIMEOUT)
    _docker("rmi", image)
    result = invoke(fn, "{}")
    assert result.function_error == "Unhandled"
    assert "Image not found" in json.loads(result.payload)["errorMessage"]


# AWS's messages for CreateFunction and UpdateFunctionCode: "Source image ... does not exist. Provide a
# valid source image." / "... is not valid ..." (InvalidParameterValueException), and for another
# account's repository "Lambda does not have permission to access the ECR image" (AWS re:Post
# knowledge center, lambda-ecr-image).
def test_unknown_image_is_refused_on_create_and_update(alice_lambda, alice_account, own_image):
    missing = f"{ALICE_ECR}/never-built-{RUN}:latest"
    with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException) as caught:
        alice_lambda.create_function(FunctionName="ghost", PackageType="Image", Code={"ImageUri": missing},
                                     Role=lambda_role(alice_lambda))
    assert caught.value.response["Error"]["Message"] == (
        f"Source image {missing} does not exist. Provide a valid source image.")
    assert not Function.objects.filter(name="ghost").exists()

    alice_lambda.create_function(FunctionName="kept", PackageType="Image", Code={"ImageUri": own_image},
                                 Role=lambda_role(alice_lambda))
    before = Function.objects.get(name="kept").revision_id
    with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException) as caught:
        alice_lambda.update_function_code(FunctionName="kept", ImageUri=missing)
    assert "does not exist" in caught.value.response["Error"]["Message"]
    kept = Function.objects.get(name="kept")
    assert (kept.image_uri, kept.revision_id) == (own_image, before)


def test_another_accounts_image_is_refused_even_when_present(alice_lambda, alice_account, own_image, tagged):
    theirs = tagged(f"{CHARLIE_ECR}/image-function-{RUN}:latest")
    with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException) as caught:
        alice_lambda.create_function(FunctionName="stolen", PackageType="Image", Code={"ImageUri": theirs},
                                     Role=lambda_role(alice_lambda))
    assert caught.value.response["Error"]["Message"].startswith(
        "Lambda does not have permission to access the ECR image")
    alice_lambda.create_function(FunctionName="kept", PackageType="Image", Code={"ImageUri": own_image},
                                 Role=lambda_role(alice_lambda))
    for uri in (theirs, IMAGE, "lambda-runtime/python3.11:latest"):
        with pytest.raises(alice_lambda.exceptions.InvalidParameterValueException):
            alice_lambda.update_function_code(FunctionName="kept", ImageUri=uri)
    assert Function.objects.get(name="kept").image_uri == own_image
    assert not Function.objects.filter(name="stolen").exists()


def test_allowed_prefixes_open_images_to_every_account(alice_account, function_image, settings):
    with pytest.raises(InvalidParameterValue, match="is not valid"):
        function_create(alice_account, "shared", package_type="Image", image_uri=function_image)
    settings.LAMBDA_IMAGE_ALLOWED_PREFIXES = ["lambda-test/"]
    fn = function_create(alice_account, "shared", package_type="Image", image_uri=function_image)
    function_update_code(fn, image_uri=function_image)
    with pytest.raises(InvalidParameterValue, match="is not valid"):
        function_update_code(fn, image_uri="lambda-runtime/python3.11:latest")
    with pytest.raises(InvalidParameterValue, match="is not valid"):
        function_update_code(fn, image_uri="Not A Reference")


def test_volumes_an_image_declares_are_removed_with_its_container(worker, alice_account, function_image, tmp_path):
    image = f"{ALICE_ECR}/with-volume-{RUN}:latest"
    _build(tmp_path, f"FROM {function_image}\nVOLUME /data\n", image)
    try:
        fn = function_create(alice_account, "with-volume", package_type="Image", image_uri=image,
                             timeout=TIMEOUT)
        assert invoke(fn, "{}").function_error is None
        container = _docker("ps", "-q", "--filter", f"label=lambda.function={fn.arn}").stdout.split()
        assert len(container) == 1
        volumes = [m["Name"] for m in json.loads(_docker("inspect", container[0]).stdout)[0]["Mounts"]
                   if m["Type"] == "volume"]
        assert len(volumes) == 1
        function_delete(fn)  # the worker's housekeeping stops a deleted function's environments
        eventually(lambda: _docker("ps", "-aq", "--filter", f"id={container[0]}").stdout.strip() == "" or None,
                   timeout=30)
        assert _docker("volume", "ls", "-q", "--filter", f"name={volumes[0]}").stdout.strip() == ""
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


@pytest.fixture
def engine_gone(monkeypatch):
    """The Docker engine does not answer (stopped, restarting): its socket leads nowhere."""
    monkeypatch.setattr(containers, "_client", None)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


def test_an_engine_that_does_not_answer_is_a_service_error_not_a_missing_image(alice_account, engine_gone):
    image = f"{ALICE_ECR}/anything-{RUN}:latest"
    with pytest.raises(ServiceError, match="container engine does not answer") as caught:
        function_create(alice_account, "no-engine", package_type="Image", image_uri=image)
    assert (caught.value.code, caught.value.status) == ("ServiceException", 500)  # AWS's: worth a retry
    assert "does not exist" not in caught.value.message
    assert not Function.objects.filter(name="no-engine").exists()


def test_the_wizard_says_the_engine_does_not_answer(alice_client, alice_account, engine_gone):
    response = alice_client.post(reverse("function-create"), {
        "method": "image", "function_name": "img", "image_uri": f"{ALICE_ECR}/anything-{RUN}:latest",
        "architecture": "x86_64", "memory_size": "128", "timeout": "3"})
    page = response.content.decode()
    assert response.status_code == 200 and "container engine does not answer" in page
    assert "does not exist" not in page and not Function.objects.exists()


def test_the_image_builder_tells_a_missing_image_from_an_engine_that_does_not_answer(monkeypatch):
    assert images._image_label(f"lambda-test/never-built-{RUN}:latest") is None  # missing: to be built
    assert images._image_label(images.BASE_IMAGE)  # built, with its inputs' hash
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(images.DockerUnavailable):
        images._image_label(images.BASE_IMAGE)

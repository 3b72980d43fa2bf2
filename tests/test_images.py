"""Functions packaged as container images, with their own entry point and ImageConfig."""
from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from console.services.functions import function_create
from executor.invoke import invoke

pytestmark = pytest.mark.integration

IMAGE = "lambda-test/image-function:latest"


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
    (context / "Dockerfile").write_text(
        "FROM lambda-runtime/python3.11:latest\n"
        "COPY app.py /var/task/app.py\n"
        'CMD ["app.handler"]\n'
    )
    subprocess.run(["docker", "build", "-q", "-t", IMAGE, str(context)], check=True, capture_output=True,
                   env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    yield IMAGE
    subprocess.run(["docker", "rmi", "-f", IMAGE], capture_output=True)


def test_image_function_runs_the_images_own_command(worker, alice_account, function_image):
    fn = function_create(alice_account, "from-image", package_type="Image", image_uri=function_image)
    result = invoke(fn, "{}")
    assert result.function_error is None, result.payload
    assert json.loads(result.payload) == {"handler": "handler", "cwd": "/var/task"}


def test_image_config_overrides_command_and_working_directory(worker, alice_account, function_image):
    fn = function_create(alice_account, "from-image-config", package_type="Image", image_uri=function_image,
                         image_config={"Command": ["app.other"], "WorkingDirectory": "/tmp"})
    assert json.loads(invoke(fn, "{}").payload) == {"handler": "other", "cwd": "/tmp"}


def test_image_config_overrides_entry_point(worker, alice_account, function_image):
    entry = ["/usr/bin/python3.11", "-S", "-c",
             "import sys; sys.path[0] = '/var/runtime'; import bootstrap; bootstrap.main()"]
    fn = function_create(alice_account, "from-image-entry", package_type="Image", image_uri=function_image,
                         image_config={"EntryPoint": entry, "Command": ["app.other"]})
    assert json.loads(invoke(fn, "{}").payload)["handler"] == "other"


def test_missing_image_fails_the_invocation_clearly(worker, alice_account):
    fn = function_create(alice_account, "no-image", package_type="Image", image_uri="lambda-test/nope:latest")
    result = invoke(fn, "{}")
    assert result.function_error == "Unhandled"
    assert "Image not found" in json.loads(result.payload)["errorMessage"]

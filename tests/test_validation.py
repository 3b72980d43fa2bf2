"""Bad configuration is refused with an error naming the field, and nothing changes."""
from __future__ import annotations

import pytest

from console.codestore import make_zip
from console.errors import InvalidParameterValue, ResourceConflict
from console.models import Function
from console.services.functions import function_create, function_update_configuration

from .conftest import python_function

CODE = make_zip({"lambda_function.py": "def lambda_handler(e, c):\n    return 1\n"})


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/name", "dot.name", "../up", "ünïcode"])
def test_invalid_function_names_are_refused(alice_account, name):
    with pytest.raises(InvalidParameterValue) as caught:
        function_create(alice_account, name, runtime="python3.11", zip_file=CODE)
    assert caught.value.field == "FunctionName"
    assert not Function.objects.exists()


def test_duplicate_names_conflict(alice_account):
    function_create(alice_account, "twin", runtime="python3.11", zip_file=CODE)
    with pytest.raises(ResourceConflict):
        function_create(alice_account, "twin", runtime="python3.11", zip_file=CODE)


@pytest.mark.parametrize("handler", ["nodot", "trailing.", ".leading", "has space.fn", "mod.1fn"])
def test_handlers_not_of_the_form_module_function_are_refused(alice_account, handler):
    with pytest.raises(InvalidParameterValue) as caught:
        function_create(alice_account, "h", runtime="python3.11", handler=handler, zip_file=CODE)
    assert caught.value.field == "Handler"


@pytest.mark.parametrize("handler", ["lambda_function.lambda_handler", "src/app.handler", "pkg.mod.fn"])
def test_valid_handlers_are_accepted(alice_account, handler):
    assert function_create(alice_account, "ok", runtime="python3.11", handler=handler, zip_file=CODE).handler == handler


def test_custom_runtime_takes_any_handler(alice_account):
    fn = function_create(alice_account, "custom", runtime="provided", handler="anything", zip_file=CODE)
    assert fn.runtime == "provided.al2023" and fn.handler == "anything"


def test_unknown_runtime_is_refused(alice_account):
    with pytest.raises(InvalidParameterValue) as caught:
        function_create(alice_account, "r", runtime="cobol85", zip_file=CODE)
    assert caught.value.field == "Runtime"


@pytest.mark.parametrize("field,value", [
    ("memory_size", 127), ("memory_size", 10241), ("memory_size", -1), ("memory_size", 256.5), ("memory_size", "lots"),
    ("timeout", 0), ("timeout", 901), ("ephemeral_storage", 511), ("ephemeral_storage", 10241),
])
def test_out_of_range_limits_are_refused_and_nothing_changes(alice_account, field, value):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    before = Function.objects.values().get(pk=fn.pk)
    with pytest.raises(InvalidParameterValue) as caught:
        function_update_configuration(fn, **{field: value})
    assert caught.value.field in ("MemorySize", "Timeout", "EphemeralStorage")
    assert Function.objects.values().get(pk=fn.pk) == before


def test_environment_over_4_kb_is_refused(alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    with pytest.raises(InvalidParameterValue) as caught:
        function_update_configuration(fn, environment={"BIG": "x" * 4100})
    assert "4KB" in caught.value.message
    with pytest.raises(InvalidParameterValue):
        function_update_configuration(fn, environment={"AWS_REGION": "elsewhere"})


def test_a_bad_value_among_good_ones_changes_nothing(alice_account):
    fn = python_function(alice_account, "def lambda_handler(e, c):\n    return 1\n")
    with pytest.raises(InvalidParameterValue):
        function_update_configuration(fn, memory_size=512, timeout=5000)
    fn.refresh_from_db()
    assert (fn.memory_size, fn.timeout) == (128, 3)

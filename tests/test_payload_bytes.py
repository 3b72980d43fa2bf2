"""A payload is bytes from the caller to the function and back: nothing re-encodes it on the way."""
from __future__ import annotations

import json

import pytest

from console.codestore import make_zip
from console.models import Invocation
from console.services.functions import function_create
from executor.invoke import invoke
from executor.result import InvokeResult

from .conftest import python_function

NOT_UTF8 = b"\xff\xfenot utf-8: \x80\n"

# A custom runtime whose every answer is NOT_UTF8 (printf's octal escapes), posted as it is.
BYTES_BOOTSTRAP = r"""#!/bin/sh
set -eu
while true; do
  HEADERS=$(mktemp)
  curl -sS -D "$HEADERS" -o /dev/null "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  printf '\377\376not utf-8: \200\n' | curl -sS -X POST --data-binary @- \
       "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$ID/response" > /dev/null
done
"""


def test_a_result_crosses_json_with_its_payload_unchanged():
    result = InvokeResult("r-1", Invocation.Status.SUCCEEDED, payload=NOT_UTF8, duration_ms=1.5, billed_duration_ms=2)
    wire = json.loads(json.dumps(result.to_wire()))
    assert InvokeResult.from_wire(wire) == result
    assert result.row_fields()["response_size"] == len(NOT_UTF8)


@pytest.mark.integration
def test_a_custom_runtimes_answer_that_is_not_utf8_comes_back_byte_for_byte(alice_lambda, alice_account):
    function_create(alice_account, "raw-bytes", runtime="provided.al2023", handler="function.handler",
                    zip_file=make_zip({"bootstrap": BYTES_BOOTSTRAP}, executable=("bootstrap",)))
    answer = alice_lambda.invoke(FunctionName="raw-bytes", Payload=b"{}")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert answer["Payload"].read() == NOT_UTF8


@pytest.mark.integration
def test_an_event_built_as_a_dict_reaches_the_function_as_json(worker, alice_account):
    fn = python_function(alice_account, "def lambda_handler(event, context):\n    return event\n")
    event = {"text": "caf\u00e9 \u2603", "n": [1, 2]}
    result = invoke(fn, event)
    assert result.function_error is None and json.loads(result.payload) == event
    assert result.log_result is None  # only when asked for (LogType Tail)

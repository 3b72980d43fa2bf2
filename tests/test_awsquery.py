"""The query protocol's server side, checked against botocore's own client side.

What botocore's QuerySerializer writes, console.awsquery must read back; what awsquery writes,
botocore's QueryParser must read back: the two directions of AWS's query protocol ("Query API
requests" in each service's reference) with the services' own models.
"""
from __future__ import annotations

import datetime as dt

import pytest
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer

from console import awsquery

IAM = awsquery.service_model("iam")
STS = awsquery.service_model("sts")


def _roundtrip_request(model, operation: str, params: dict) -> dict:
    operation_model = model.operation_model(operation)
    form = QuerySerializer().serialize_to_request(params, operation_model)["body"]  # the form's fields
    return awsquery.parse_input(operation_model, {key: str(value) for key, value in form.items()})


def test_what_botocore_serializes_is_read_back():
    params = {"RoleName": "r", "AssumeRolePolicyDocument": '{"Version": "2012-10-17"}', "Path": "/a/",
              "MaxSessionDuration": 7200, "Tags": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}]}
    assert _roundtrip_request(IAM, "CreateRole", params) == params
    untag = {"RoleName": "r", "TagKeys": ["team", "env"]}
    assert _roundtrip_request(IAM, "UntagRole", untag) == untag
    listed = {"Scope": "Local", "OnlyAttached": True, "MaxItems": 5}
    assert _roundtrip_request(IAM, "ListPolicies", listed) == listed


def test_constraints_of_the_model_are_validation_errors_worded_as_aws():
    with pytest.raises(awsquery.ValidationError) as caught:
        awsquery.parse_input(IAM.operation_model("CreateRole"),
                             {"RoleName": "bad name!", "AssumeRolePolicyDocument": "{}", "MaxSessionDuration": "60"})
    assert str(caught.value) == (
        "2 validation errors detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: [\\w+=,.@-]+; Value '60' at 'maxSessionDuration' failed to satisfy "
        "constraint: Member must have value greater than or equal to 3600")
    with pytest.raises(awsquery.ValidationError) as caught:
        awsquery.parse_input(IAM.operation_model("GetRole"), {})
    assert str(caught.value) == ("1 validation error detected: Value null at 'roleName' failed to satisfy "
                                 "constraint: Member must not be null")
    with pytest.raises(awsquery.ValidationError):
        awsquery.parse_input(STS.operation_model("AssumeRole"),
                             {"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "x",
                              "DurationSeconds": "soon"})


def test_what_awsquery_writes_botocore_parses():
    created = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.timezone.utc)
    operation = IAM.operation_model("ListRoles")
    output = {"Roles": [{"Path": "/", "RoleName": "r&<b>", "RoleId": "AROAX", "Arn": "arn:aws:iam::1:role/r",
                         "CreateDate": created, "MaxSessionDuration": 3600}], "IsTruncated": True, "Marker": "1"}
    response = awsquery.result_response(IAM, operation, output, "req-1")
    parsed = QueryParser().parse({"body": response.content, "headers": dict(response.items()), "status_code": 200},
                                 operation.output_shape)
    assert parsed["Roles"] == output["Roles"] and parsed["IsTruncated"] is True and parsed["Marker"] == "1"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"


def test_errors_are_error_responses_botocore_reads():
    response = awsquery.error_response(IAM, "NoSuchEntity", "The role with name r cannot be found.", 404, "req-2")
    parsed = QueryParser().parse({"body": response.content, "headers": dict(response.items()), "status_code": 404},
                                 None)
    assert parsed["Error"] == {"Type": "Sender", "Code": "NoSuchEntity",
                               "Message": "The role with name r cannot be found."}
    assert response.status_code == 404 and b'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"' in response.content

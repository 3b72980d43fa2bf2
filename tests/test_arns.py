"""ARNs and qualifiers (console/arns.py).

The general format follows "Identify AWS resources with Amazon Resource Names (ARNs)",
docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html; the Lambda rules follow the
Invoke API reference (FunctionName, Qualifier), docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
and weighted aliases, docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html.
"""
from __future__ import annotations

import pytest

from console import arns
from console.arns import Arn, FunctionRef, InvalidArn
from console.errors import InvalidParameterValue, ResourceNotFound
from console.services.functions import function_update_configuration
from console.services.versions import alias_create, version_publish

from .conftest import python_function

ACCOUNT = "123456789012"
SRC = "def lambda_handler(e, c):\n    return 1\n"


# --- The general format (IAM user guide, "ARN format") ---------------------------------------

@pytest.mark.parametrize("text, fields", [
    ("arn:aws:lambda:us-east-1:123456789012:function:my-fn",
     ("aws", "lambda", "us-east-1", ACCOUNT, "function:my-fn")),
    # A resource may hold colons and slashes: everything after the fifth colon is the resource.
    ("arn:aws:lambda:us-east-1:123456789012:function:my-fn:live",
     ("aws", "lambda", "us-east-1", ACCOUNT, "function:my-fn:live")),
    ("arn:aws:iam::123456789012:role/service-role/x", ("aws", "iam", "", ACCOUNT, "role/service-role/x")),
    ("arn:aws:s3:::bucket/key/with:colon", ("aws", "s3", "", "", "bucket/key/with:colon")),
    ("arn:aws-cn:sqs:cn-north-1:123456789012:queue", ("aws-cn", "sqs", "cn-north-1", ACCOUNT, "queue")),
])
def test_parse_arn_splits_the_six_fields_and_prints_back(text, fields):
    arn = arns.parse_arn(text)
    assert (arn.partition, arn.service, arn.region, arn.account, arn.resource) == fields
    assert str(arn) == text


@pytest.mark.parametrize("text", [
    "", "my-fn", "aws:lambda:us-east-1:123456789012:function:f",  # no arn: prefix
    "arn:aws:lambda:us-east-1:123456789012",  # five fields
    "arn::lambda:us-east-1:123456789012:function:f",  # no partition
    "arn:aws::us-east-1:123456789012:function:f",  # no service
    "arn:aws:s3:::",  # no resource
])
def test_parse_arn_refuses_what_has_not_an_arns_shape(text):
    with pytest.raises(InvalidArn):
        arns.parse_arn(text)


def test_build_arn_leaves_out_what_the_service_leaves_out():
    assert arns.build_arn("iam", "role/x", account=ACCOUNT) == "arn:aws:iam::123456789012:role/x"
    assert arns.build_arn("s3", "bucket/key") == "arn:aws:s3:::bucket/key"
    assert arns.build_arn("sqs", "q", region="eu-west-1", account=ACCOUNT) == "arn:aws:sqs:eu-west-1:123456789012:q"


@pytest.mark.parametrize("service, region, account", [
    ("iam", "us-east-1", ACCOUNT),  # IAM is global: no region
    ("iam", "", ""),  # but an IAM ARN names its account
    ("s3", "", ACCOUNT),  # a bucket's ARN names no account
    ("lambda", "", ACCOUNT),  # a function is regional
    ("sqs", "us-east-1", ""),
])
def test_build_arn_refuses_fields_the_service_does_not_have(service, region, account):
    with pytest.raises(InvalidArn):
        arns.build_arn(service, "x", region=region, account=account)


def test_check_scope_passes_a_well_formed_arn_through():
    arn = Arn("aws", "events", "us-east-1", ACCOUNT, "rule/r")
    assert arns.check_scope(arn) is arn


# --- Lambda: FunctionName, qualifiers, function ARNs (Invoke API reference) -------------------

@pytest.mark.parametrize("ref, expected", [
    ("my-function", FunctionRef("my-function")),
    ("my-function:v1", FunctionRef("my-function", "v1")),
    ("my-function:$LATEST", FunctionRef("my-function", "$LATEST")),
    ("123456789012:function:my-function", FunctionRef("my-function", None, ACCOUNT)),
    ("arn:aws:lambda:us-west-2:123456789012:function:my-function",
     FunctionRef("my-function", None, ACCOUNT, "us-west-2")),
    ("arn:aws:lambda:us-west-2:123456789012:function:my-function:7",
     FunctionRef("my-function", "7", ACCOUNT, "us-west-2")),
    ("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", FunctionRef("f", None, ACCOUNT, "us-gov-west-1")),
])
def test_function_name_formats_the_api_takes(ref, expected):
    assert arns.match_function_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "my function", "arn:aws:lambda:us-west-2:123:function:f",
                                 "arn:aws:sqs:us-west-2:123456789012:function:f", "f:a:b", "f:"])
def test_function_name_formats_the_api_refuses(ref):
    assert arns.match_function_ref(ref) is None


def test_parse_function_name_names_the_callers_function():
    assert arns.parse_function_name("f", ACCOUNT, "us-east-1") == ("f", None)
    assert arns.parse_function_name(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:live", ACCOUNT,
                                    "us-east-1") == ("f", "live")


@pytest.mark.parametrize("ref", ["arn:aws:lambda:us-east-1:999999999999:function:f",  # another account
                                 f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f",  # another region
                                 "999999999999:function:f"])
def test_parse_function_name_another_accounts_or_regions_function_is_not_found(ref):
    with pytest.raises(ResourceNotFound) as caught:
        arns.parse_function_name(ref, ACCOUNT, "us-east-1")
    assert caught.value.message == f"Function not found: {ref}" and caught.value.field == "FunctionName"


def test_parse_function_name_says_what_is_wrong_with_a_bad_name():
    with pytest.raises(InvalidParameterValue, match="Function name must be 1 to 64 characters"):
        arns.parse_function_name("bad name", ACCOUNT, "us-east-1")
    with pytest.raises(InvalidParameterValue, match="Function name must be 1 to 64 characters"):
        arns.parse_function_name("x" * 65, ACCOUNT, "us-east-1")
    with pytest.raises(InvalidParameterValue, match="Function name must be 1 to 64 characters"):
        arns.parse_function_name(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{'x' * 65}", ACCOUNT, "us-east-1")


def test_request_qualifier_from_the_arn_or_the_parameter_which_must_agree():
    assert arns.request_qualifier(None, None) is None
    assert arns.request_qualifier(None, "") is None
    assert arns.request_qualifier("live", None) == "live"
    assert arns.request_qualifier(None, "$LATEST") == "$LATEST"
    assert arns.request_qualifier("live", "live") == "live"
    with pytest.raises(InvalidParameterValue, match="does not match the specified qualifier"):
        arns.request_qualifier("live", "7")
    with pytest.raises(InvalidParameterValue, match="Invalid Qualifier: a.b"):
        arns.request_qualifier(None, "a.b")
    with pytest.raises(InvalidParameterValue, match="Invalid Qualifier"):
        arns.request_qualifier(None, "x" * 129)


def test_qualifier_kinds():
    assert all(arns.is_latest(q) for q in (None, "", "$LATEST"))
    assert arns.is_version("12") and not arns.is_version("v1") and not arns.is_version("$LATEST")
    assert not arns.is_version("²")  # str.isdigit() says yes; int() would fail
    assert arns.is_alias_name("live") and arns.is_alias_name("v1-2_b")
    assert not arns.is_alias_name("12") and not arns.is_alias_name("") and not arns.is_alias_name("x" * 129)


def test_function_arns_are_built_and_qualified(settings):
    settings.LAMBDA_REGION = "eu-west-1"
    assert arns.function_arn(ACCOUNT, "f") == "arn:aws:lambda:eu-west-1:123456789012:function:f"
    assert arns.function_arn(ACCOUNT, "f", "live", region="us-east-1") == \
        "arn:aws:lambda:us-east-1:123456789012:function:f:live"
    assert arns.qualified("arn:x", None) == arns.qualified("arn:x", "") == "arn:x"


@pytest.mark.parametrize("text, expected", [
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:target", FunctionRef("target", None, ACCOUNT, "us-east-1")),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:target:live", FunctionRef("target", "live", ACCOUNT, "us-east-1")),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:t:live:extra", None),
    (f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue", None),
    (f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:t", None),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:l", None),
    ("target", None),
])
def test_parse_function_arn_as_destinations_take_it(text, expected):
    assert arns.parse_function_arn(text) == expected


# --- Resolving a qualifier (versions and weighted aliases) ------------------------------------

def test_alias_target_sends_the_weighted_share_to_the_additional_version():
    assert arns.alias_target("1", {}) == "1"
    assert arns.alias_target("1", None) == "1"
    assert arns.alias_target("1", {"2": 0.25}, pick=lambda: 0.1) == "2"
    assert arns.alias_target("1", {"2": 0.25}, pick=lambda: 0.25) == "1"
    assert arns.alias_target("1", {"2": 0.0}, pick=lambda: 0.0) == "1"


def _two_versions(account):
    fn = python_function(account, SRC)
    version_publish(fn)
    function_update_configuration(fn, memory_size=512)
    version_publish(fn)
    return fn


def test_resolve_latest_versions_and_aliases(alice_account):
    fn = _two_versions(alice_account)
    alias = alias_create(fn, "live", "1", routing_config={"2": 0.5})
    for qualifier in (None, "", "$LATEST"):
        resolved = arns.resolve(fn, qualifier)
        assert (resolved.version, resolved.config, resolved.alias) == ("$LATEST", fn, None)
    resolved = arns.resolve(fn, "2")
    assert (resolved.version, resolved.config.memory_size, resolved.alias) == ("2", 512, None)
    # Without weighting an alias always shows its own version (GetFunctionConfiguration)...
    resolved = arns.resolve(fn, "live", pick=lambda: 0.0)
    assert (resolved.version, resolved.config.memory_size, resolved.alias) == ("1", 128, alias)
    # ...with it, a call is sent on to the additional version for its share.
    assert arns.resolve(fn, "live", weighted=True, pick=lambda: 0.0).version == "2"
    assert arns.resolve(fn, "live", weighted=True, pick=lambda: 0.9).version == "1"


def test_resolve_unknown_qualifier_is_not_found_in_the_field_named(alice_account):
    fn = _two_versions(alice_account)
    for qualifier in ("9", "nope"):
        with pytest.raises(ResourceNotFound) as caught:
            arns.resolve(fn, qualifier, field="Target")
        assert caught.value.message == f"Function not found: {fn.arn}:{qualifier}"
        assert caught.value.field == "Target"


def test_version_and_alias_exist(alice_account):
    fn = _two_versions(alice_account)
    alias_create(fn, "live", "1")
    assert arns.version_exists(fn, "2") and not arns.version_exists(fn, "3")
    assert not arns.version_exists(fn, "$LATEST") and not arns.version_exists(fn, "live")
    assert arns.alias_exists(fn, "live") and not arns.alias_exists(fn, "dead") and not arns.alias_exists(fn, "")

"""The IAM policy language (console/policy.py, console/policy_conditions.py).

Evaluation follows IAM's "Policy evaluation logic"
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html) and the
element pages of the "IAM JSON policy elements reference" (Action, NotAction, Resource,
NotResource, Principal, NotPrincipal, Condition, condition operators). Validation messages are
IAM's MalformedPolicyDocument reasons as CreatePolicy, PutRolePolicy and CreateRole return them.
"""
from __future__ import annotations

import json

import pytest

from console.policy import (Decision, MalformedPolicy, PolicyTooLarge, RequestContext, caller_principal,
                            evaluate, parse, parse_cached, principal_of, summary, trusts_service)

FN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"
OTHER_FN = "arn:aws:lambda:us-east-1:123456789012:function:other"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def doc(*statements: dict, version: str = "2012-10-17") -> dict:
    return {"Version": version, "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(*statements: dict, action="lambda:InvokeFunction", resource=FN, conditions=None) -> Decision:
    return evaluate([parse(doc(*statements))], RequestContext(action, resource, conditions=conditions or {}))


# --- Evaluation: Deny > Allow > implicit deny ------------------------------------------------

def test_nothing_allows_so_the_request_is_implicitly_denied():
    assert decide(allow("s3:GetObject")) is Decision.IMPLICIT_DENY
    assert evaluate([], RequestContext("lambda:InvokeFunction", FN)) is Decision.IMPLICIT_DENY


def test_an_allow_that_matches_allows():
    assert decide(allow("lambda:InvokeFunction", FN)) is Decision.ALLOW


def test_an_explicit_deny_wins_over_an_allow_in_another_policy():
    policies = [parse(doc(allow("lambda:*"))), parse(doc(deny("lambda:InvokeFunction", FN)))]
    assert evaluate(policies, RequestContext("lambda:InvokeFunction", FN)) is Decision.DENY
    assert evaluate(policies, RequestContext("lambda:InvokeFunction", OTHER_FN)) is Decision.ALLOW


def test_actions_match_case_insensitively_with_wildcards():
    assert decide(allow("LAMBDA:invoke*")) is Decision.ALLOW
    assert decide(allow("lambda:Invoke?unction")) is Decision.ALLOW
    assert decide(allow("lambda:Get*")) is Decision.IMPLICIT_DENY
    assert decide(allow("*")) is Decision.ALLOW


def test_resources_match_case_sensitively_with_wildcards():
    assert decide(allow("lambda:*", "arn:aws:lambda:*:123456789012:function:my-*")) is Decision.ALLOW
    assert decide(allow("lambda:*", "arn:aws:lambda:us-east-1:123456789012:function:MY-FN")) \
        is Decision.IMPLICIT_DENY
    assert decide(allow("lambda:*", ["arn:aws:s3:::b", FN])) is Decision.ALLOW


def test_a_request_on_no_particular_resource_needs_resource_star():
    # ListFunctions has no resource-level permission: only "*" (or a pattern matching "*") covers it.
    assert decide(allow("lambda:ListFunctions", FN), action="lambda:ListFunctions", resource="*") \
        is Decision.IMPLICIT_DENY
    assert decide(allow("lambda:ListFunctions"), action="lambda:ListFunctions", resource="*") is Decision.ALLOW


def test_not_action_allows_everything_but_the_named_actions():
    statement = {"Effect": "Allow", "NotAction": "lambda:Delete*", "Resource": "*"}
    assert decide(statement) is Decision.ALLOW
    assert decide(statement, action="lambda:DeleteFunction") is Decision.IMPLICIT_DENY


def test_not_resource_with_deny_protects_all_but_the_named_resources():
    statements = [allow("lambda:*"), {"Effect": "Deny", "Action": "lambda:*", "NotResource": FN}]
    assert decide(*statements) is Decision.ALLOW
    assert decide(*statements, resource=OTHER_FN) is Decision.DENY


# --- Principals (resource and trust policies) ------------------------------------------------

def resource_policy(principal, **extra) -> list:
    return [parse(doc({"Sid": "s", "Effect": "Allow", "Principal": principal,
                       "Action": "lambda:InvokeFunction", "Resource": FN, **extra}), "resource")]


def as_account(account: str, arn: str | None = None, **conditions) -> RequestContext:
    return RequestContext("lambda:InvokeFunction", FN, caller_principal(account, arn), conditions)


@pytest.mark.parametrize("principal", [
    "*", {"AWS": "*"}, {"AWS": "210987654321"}, {"AWS": "arn:aws:iam::210987654321:root"},
    {"AWS": ["111111111111", "210987654321"]},
])
def test_a_resource_policy_allows_the_account_it_names(principal):
    assert evaluate(resource_policy(principal), as_account("210987654321")) is Decision.ALLOW


def test_a_resource_policy_does_not_allow_another_account():
    policy = resource_policy({"AWS": "210987654321"})
    assert evaluate(policy, as_account("333333333333")) is Decision.IMPLICIT_DENY


def test_a_resource_policy_naming_a_role_allows_that_role_only():
    role = "arn:aws:iam::210987654321:role/caller"
    policy = resource_policy({"AWS": role})
    assert evaluate(policy, as_account("210987654321", role)) is Decision.ALLOW
    assert evaluate(policy, as_account("210987654321", "arn:aws:iam::210987654321:role/x")) \
        is Decision.IMPLICIT_DENY


def test_a_service_principal_with_its_source_arn():
    rule = "arn:aws:events:us-east-1:123456789012:rule/nightly"
    policy = resource_policy({"Service": "events.amazonaws.com"},
                             Condition={"ArnLike": {"AWS:SourceArn": rule}})
    ok = RequestContext("lambda:InvokeFunction", FN, {"Service": ["events.amazonaws.com"]},
                        {"aws:SourceArn": rule})
    assert evaluate(policy, ok) is Decision.ALLOW
    other_rule = RequestContext("lambda:InvokeFunction", FN, {"Service": ["events.amazonaws.com"]},
                                {"aws:SourceArn": rule + "2"})
    assert evaluate(policy, other_rule) is Decision.IMPLICIT_DENY
    other_service = RequestContext("lambda:InvokeFunction", FN, {"Service": ["s3.amazonaws.com"]},
                                   {"aws:SourceArn": rule})
    assert evaluate(policy, other_service) is Decision.IMPLICIT_DENY
    account = RequestContext("lambda:InvokeFunction", FN, caller_principal("123456789012"))
    assert evaluate(policy, account) is Decision.IMPLICIT_DENY


def test_not_principal_applies_to_everyone_else():
    policy = [parse(doc(
        {"Effect": "Allow", "Principal": "*", "Action": "lambda:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "123456789012"}, "Action": "lambda:*", "Resource": "*"},
    ), "resource")]
    assert evaluate(policy, as_account("123456789012")) is Decision.ALLOW
    assert evaluate(policy, as_account("210987654321")) is Decision.DENY


def test_trusts_service_reads_a_roles_trust_policy():
    trust = parse(LAMBDA_TRUST, "trust")
    assert trusts_service(trust, "lambda.amazonaws.com")
    assert not trusts_service(trust, "ec2.amazonaws.com")
    assert not trusts_service(trust, "lambda.amazonaws.com", "sts:TagSession")
    everyone = parse(doc({"Effect": "Allow", "Principal": {"AWS": "123456789012"},
                          "Action": "sts:AssumeRole"}), "trust")
    assert not trusts_service(everyone, "lambda.amazonaws.com")


def test_a_trust_policy_with_a_source_account_condition_needs_that_account():
    trust = parse(doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}), "trust")
    assert trusts_service(trust, "lambda.amazonaws.com", conditions={"aws:SourceAccount": "123456789012"})
    assert not trusts_service(trust, "lambda.amazonaws.com", conditions={"aws:SourceAccount": "999999999999"})
    assert not trusts_service(trust, "lambda.amazonaws.com")


# --- Conditions (IAM's "Condition operators") ------------------------------------------------

def conditional(operator: str, key: str, value, effect=allow) -> dict:
    return effect("lambda:InvokeFunction", Condition={operator: {key: value}})


@pytest.mark.parametrize("operator, policy_value, request_value, applies", [
    ("StringEquals", "123456789012", "123456789012", True),
    ("StringEquals", "123456789012", "210987654321", False),
    ("StringEquals", ["a", "b"], "b", True),  # several values: any of them
    ("StringNotEquals", "123456789012", "210987654321", True),
    ("StringNotEquals", ["a", "b"], "b", False),
    ("StringEqualsIgnoreCase", "ABC", "abc", True),
    ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
    ("StringLike", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/key", True),
    ("StringLike", "arn:aws:s3:::bucket/*", "arn:aws:s3:::BUCKET/key", False),
    ("StringNotLike", "prod-*", "dev-1", True),
    ("ArnLike", "arn:aws:events:*:123456789012:rule/*", "arn:aws:events:eu-west-1:123456789012:rule/r", True),
    # A * stays inside its ARN field: it cannot swallow the account.
    ("ArnLike", "arn:aws:events:*:rule/*", "arn:aws:events:eu-west-1:123456789012:rule/r", False),
    ("ArnEquals", "arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sns:us-east-1:123456789012:t", True),
    ("ArnNotEquals", "arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sns:us-east-1:123456789012:u", True),
    ("ArnNotLike", "arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:123456789012:u", False),
    ("Bool", True, "true", True),
    ("Bool", "false", "true", False),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThan", 10, "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericEquals", "10", "ten", False),
    ("NumericNotEquals", ["1", "2"], "2", False),
])
def test_condition_operators(operator, policy_value, request_value, applies):
    statement = conditional(operator, "aws:SourceArn", policy_value)
    expected = Decision.ALLOW if applies else Decision.IMPLICIT_DENY
    assert decide(statement, conditions={"aws:SourceArn": request_value}) is expected


def test_condition_keys_are_case_insensitive():
    statement = conditional("StringEquals", "AWS:SOURCEACCOUNT", "123456789012")
    assert decide(statement, conditions={"aws:SourceAccount": "123456789012"}) is Decision.ALLOW


def test_a_missing_key_fails_a_positive_operator_and_passes_a_negated_one():
    assert decide(conditional("StringEquals", "aws:SourceAccount", "1")) is Decision.IMPLICIT_DENY
    assert decide(conditional("StringNotEquals", "aws:SourceAccount", "1")) is Decision.ALLOW


def test_if_exists_passes_when_the_key_is_absent_and_checks_it_when_present():
    statement = conditional("StringEqualsIfExists", "aws:SourceAccount", "1")
    assert decide(statement) is Decision.ALLOW
    assert decide(statement, conditions={"aws:SourceAccount": "1"}) is Decision.ALLOW
    assert decide(statement, conditions={"aws:SourceAccount": "2"}) is Decision.IMPLICIT_DENY


def test_null_checks_whether_the_key_is_there():
    absent = conditional("Null", "aws:SourceArn", "true")
    assert decide(absent) is Decision.ALLOW
    assert decide(absent, conditions={"aws:SourceArn": FN}) is Decision.IMPLICIT_DENY
    present = conditional("Null", "aws:SourceArn", "false")
    assert decide(present, conditions={"aws:SourceArn": FN}) is Decision.ALLOW


def test_for_any_value_and_for_all_values_on_a_multivalued_key():
    any_of = conditional("ForAnyValue:StringEquals", "aws:CalledVia", ["sns.amazonaws.com"])
    all_of = conditional("ForAllValues:StringEquals", "aws:CalledVia",
                         ["sns.amazonaws.com", "events.amazonaws.com"])
    both = {"aws:CalledVia": ["sns.amazonaws.com", "sqs.amazonaws.com"]}
    assert decide(any_of, conditions=both) is Decision.ALLOW
    assert decide(all_of, conditions=both) is Decision.IMPLICIT_DENY
    assert decide(all_of, conditions={"aws:CalledVia": ["events.amazonaws.com"]}) is Decision.ALLOW
    assert decide(all_of) is Decision.ALLOW  # ForAllValues of an absent key holds vacuously
    assert decide(any_of) is Decision.IMPLICIT_DENY


def test_all_conditions_of_a_statement_must_hold():
    statement = allow("lambda:*", Condition={
        "StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::b"}})
    assert decide(statement, conditions={"aws:SourceAccount": "1", "aws:SourceArn": "arn:aws:s3:::b"}) \
        is Decision.ALLOW
    assert decide(statement, conditions={"aws:SourceAccount": "1", "aws:SourceArn": "arn:aws:s3:::c"}) \
        is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("operator, key", [
    ("DateLessThan", "aws:CurrentTime"),  # an operator IAM knows that is not implemented here
    ("IpAddress", "aws:SourceIp"),
    ("StringEquals", "aws:PrincipalTag/team"),  # a key no caller supplies
])
def test_a_condition_not_understood_denies_rather_than_allows(operator, key):
    assert decide(conditional(operator, key, "x")) is Decision.IMPLICIT_DENY
    statements = [allow("lambda:*"), conditional(operator, key, "x", effect=deny)]
    assert decide(*statements) is Decision.DENY


def test_a_key_the_request_supplies_is_understood_whatever_its_name():
    statement = conditional("StringEquals", "lambda:FunctionUrlAuthType", "AWS_IAM")
    assert decide(statement, conditions={"lambda:FunctionUrlAuthType": "AWS_IAM"}) is Decision.ALLOW
    assert decide(statement, conditions={"lambda:FunctionUrlAuthType": "NONE"}) is Decision.IMPLICIT_DENY


# --- Validation: IAM's MalformedPolicyDocument reasons ---------------------------------------

def malformed(document, kind="identity") -> str:
    with pytest.raises(MalformedPolicy) as caught:
        parse(document if isinstance(document, str) else json.dumps(document), kind)
    return str(caught.value)


@pytest.mark.parametrize("document", [
    "not json", "[]", "null", "{}",
    {"Version": "2012-10-17"},
    {"Version": "2012-10-17", "Statement": []},
    {"Version": "2013-01-01", "Statement": [allow("s3:*")]},
    {"Version": "2012-10-17", "Statement": [allow("s3:*")], "Extra": 1},
    doc({"Action": "s3:*", "Resource": "*"}),  # no Effect
    doc({"Effect": "Allowed", "Action": "s3:*", "Resource": "*"}),
    doc({"Effect": "allow", "Action": "s3:*", "Resource": "*"}),  # Effect is case-sensitive
    doc(allow("s3:*", Unknown=1)),
    doc(allow(["s3:*", 3])),
    doc({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}),
    doc(allow("s3:*", Condition={"StringEqualz": {"aws:SourceAccount": "1"}})),
    doc(allow("s3:*", Condition={"StringEquals": "1"})),
])
def test_syntax_errors(document):
    assert malformed(document) == "Syntax errors in policy."


def test_a_trust_policy_that_is_not_json():
    assert malformed("{not json", "trust") == "This policy contains invalid Json"


def test_identity_policies_must_be_version_2012_10_17():
    assert malformed(doc(allow("s3:*"), version="2008-10-17")) == \
        "Policy document must be version 2012-10-17 or greater."
    assert malformed({"Statement": [allow("s3:*")]}, "managed") == \
        "Policy document must be version 2012-10-17 or greater."
    # Trust and resource policies may still say 2008-10-17.
    parse(doc(LAMBDA_TRUST["Statement"][0], version="2008-10-17"), "trust")


def test_statement_ids_must_be_unique():
    assert malformed(doc(allow("s3:*", Sid="a"), allow("sqs:*", Sid="a"))) == \
        "Statement IDs (SID) in a single policy must be unique."


def test_a_statement_without_actions():
    assert malformed(doc({"Effect": "Allow", "Resource": "*"})) == "Policy statement must contain actions."
    assert malformed(doc(allow([]))) == "Policy statement must contain actions."


def test_an_identity_statement_without_resources():
    assert malformed(doc({"Effect": "Allow", "Action": "s3:*"})) == "Policy statement must contain resources."


def test_a_resource_that_is_not_an_arn():
    assert malformed(doc(allow("s3:*", "bucket"))) == 'Resource bucket must be in ARN format or "*".'


@pytest.mark.parametrize("action, reason", [
    ("InvokeFunction", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("lambda:Invoke:Function", "Actions/Condition can contain only one colon."),
    ("lam bda:InvokeFunction", "Vendor lam bda is not valid"),
])
def test_actions_must_name_their_service(action, reason):
    assert malformed(doc(allow(action))) == reason


def test_an_identity_policy_names_no_principal():
    assert malformed(doc(allow("s3:*", Principal="*"))) == "Policy document should not specify a principal."


def test_resource_and_trust_policies_need_a_principal():
    assert malformed(doc(allow("lambda:InvokeFunction", FN)), "resource") == "Missing required field Principal"
    assert malformed(doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), "trust") == \
        "Missing required field Principal"


def test_a_trust_policy_names_no_resource_and_only_sts_actions():
    statement = dict(LAMBDA_TRUST["Statement"][0])
    assert malformed(doc({**statement, "Resource": "*"}), "trust") == "Has prohibited field Resource"
    assert malformed(doc({**statement, "Action": "lambda:InvokeFunction"}), "trust").startswith(
        "Trust Policy statement actions can only be sts:AssumeRole")


@pytest.mark.parametrize("principal", [{"AWS": "not-an-account"}, {"Group": "x"}, {"AWS": []}])
def test_an_invalid_principal(principal):
    reason = malformed(doc({"Effect": "Allow", "Principal": principal, "Action": "lambda:*",
                            "Resource": FN}), "resource")
    assert reason.startswith("Invalid principal in policy: ")


def test_size_quotas_count_characters_without_whitespace():
    # IAM and AWS STS quotas: role inline policies 10,240, managed policies 6,144 and role trust
    # policies 2,048 characters, whitespace not counted; going over is LimitExceeded.
    def sized(n: int) -> str:
        base = json.dumps(doc(allow("s3:GetObject", "arn:aws:s3:::b/")), separators=(",", ":"))
        return base.replace("b/", "b/" + "x" * (n - len(base)))
    assert len(sized(6144)) == 6144
    parse(sized(6144), "managed")
    with pytest.raises(PolicyTooLarge) as caught:
        parse(sized(6145), "managed")
    assert str(caught.value) == "Cannot exceed quota for PolicySize: 6144"
    assert caught.value.code == "LimitExceeded"
    parse(sized(6145), "identity")
    parse(sized(10240).replace(",", ",\n    "), "identity")  # whitespace is free
    with pytest.raises(PolicyTooLarge):
        parse(sized(10241), "identity")
    trust = json.dumps(LAMBDA_TRUST)
    padded = trust.replace('"Effect"', '"Sid":"' + "s" * (2049 - len(trust.replace(" ", "")) - 8) + '","Effect"')
    with pytest.raises(PolicyTooLarge, match="ACLSizePerRole: 2048"):
        parse(padded, "trust")


# --- The rest of the interface ---------------------------------------------------------------

def test_parse_cached_parses_a_text_once():
    text = json.dumps(doc(allow("logs:*")))
    assert parse_cached(text) is parse_cached(text)
    assert parse_cached(text, "managed") is not parse_cached(text)


def test_summary_lists_allowed_actions_per_service():
    policies = [
        parse(doc(allow(["logs:CreateLogGroup", "logs:PutLogEvents"]), deny("s3:DeleteObject"))),
        parse(doc(allow(["s3:Get*", "logs:CreateLogGroup"]),
                  {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
    ]
    assert summary(policies) == {
        "*": ["* except iam:*"],
        "logs": ["logs:CreateLogGroup", "logs:PutLogEvents"],
        "s3": ["s3:Get*"],
    }


@pytest.mark.parametrize("value, element", [
    ("*", "*"),
    ("123456789012", {"AWS": "arn:aws:iam::123456789012:root"}),
    ("arn:aws:iam::123456789012:role/r", {"AWS": "arn:aws:iam::123456789012:role/r"}),
    ("s3.amazonaws.com", {"Service": "s3.amazonaws.com"}),
])
def test_principal_of_writes_add_permissions_principal_as_lambda_does(value, element):
    assert principal_of(value) == element


def test_principal_of_refuses_what_names_no_principal():
    with pytest.raises(MalformedPolicy):
        principal_of("somebody")

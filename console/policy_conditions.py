"""The Condition element of the IAM policy language: wildcard patterns and condition operators.

Follows "IAM JSON policy elements: Condition operators" and "Single-valued vs. multivalued
context keys" (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
.../reference_policies_condition-single-vs-multi-valued-context-keys.html). Patterns are compiled
once, when a policy is parsed; `console.policy` evaluates them per request.

A condition this module does not understand (an operator IAM accepts but we do not implement,
such as DateLessThan or IpAddress, or a key the request context cannot supply) is reported as
`None` rather than True or False: the evaluator then lets an Allow statement not apply and a Deny
statement apply, so what is not understood denies rather than allows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

# Operators IAM accepts (a policy naming another is a syntax error), before the ForAnyValue: /
# ForAllValues: prefix and the IfExists suffix are taken off.
IAM_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
})
SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")

# Global keys a caller of `evaluate` supplies whenever the request has them, so their absence
# from a request context means "not in this request" (IAM's missing-key rules apply), not "not
# understood". Any key present in a request context is understood too.
KNOWN_KEYS = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:PrincipalAccount",
    "aws:PrincipalArn", "aws:PrincipalType", "aws:userid", "aws:username", "aws:SecureTransport",
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:ViaAWSService",
    "aws:PrincipalIsAWSService", "aws:PrincipalServiceName", "aws:ResourceAccount",
    "aws:RequestedRegion",
))


def wildcard_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """A pattern where `*` matches any run of characters and `?` any one character."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


class Matcher:
    """Does a value match any of a list of wildcard patterns? Exact patterns take a set lookup."""

    __slots__ = ("everything", "exact", "regex")

    def __init__(self, patterns: Sequence[str], *, lower: bool = False) -> None:
        patterns = [p.lower() for p in patterns] if lower else list(patterns)
        self.everything = "*" in patterns
        self.exact = frozenset(p for p in patterns if "*" not in p and "?" not in p)
        wild = [p for p in patterns if p not in self.exact]
        # One alternation for all wildcard patterns: one regex call per value however many.
        self.regex = (re.compile("|".join(f"(?:{wildcard_regex(p).pattern})" for p in wild), re.DOTALL)
                      if wild else None)

    def __call__(self, value: str) -> bool:
        if self.everything or value in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(value) is not None


def _arn_regex(pattern: str) -> re.Pattern[str]:
    """ArnLike: each of the six fields matched on its own, so a `*` stays within its field."""
    fields = pattern.split(":", 5)
    out = []
    for index, field in enumerate(fields):
        last = index == len(fields) - 1 and index == 5
        out.append("".join((".*" if last else "[^:]*") if c == "*" else ("." if last else "[^:]")
                           if c == "?" else re.escape(c) for c in field))
    return re.compile(":".join(out), re.DOTALL)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# Each base operator is built from the policy's values into a test of one request value.
Test = Callable[[str], bool]


def _build_test(base: str, values: Sequence[str]) -> tuple[Test, bool] | None:
    """(positive test, negated?) for an operator, or None when it is not implemented here."""
    negated = "Not" in base and base != "Null"
    positive = base.replace("Not", "", 1) if negated else base
    if positive == "StringEquals":
        allowed = frozenset(values)
        return (lambda v: v in allowed), negated
    if positive == "StringEqualsIgnoreCase":
        allowed = frozenset(x.lower() for x in values)
        return (lambda v: v.lower() in allowed), negated
    if positive == "StringLike":
        return Matcher(values), negated
    if positive in ("ArnEquals", "ArnLike"):  # IAM: ArnEquals and ArnLike behave the same
        regexes = [_arn_regex(x) for x in values]
        return (lambda v: v.count(":") >= 5 and any(r.fullmatch(v) for r in regexes)), negated
    if positive == "Bool":
        allowed = frozenset(x.lower() for x in values)
        return (lambda v: v.lower() in allowed), False
    if base.startswith("Numeric"):
        numbers = [n for n in map(_number, values) if n is not None]
        compare = {
            "NumericEquals": lambda a, b: a == b, "NumericNotEquals": lambda a, b: a != b,
            "NumericLessThan": lambda a, b: a < b, "NumericLessThanEquals": lambda a, b: a <= b,
            "NumericGreaterThan": lambda a, b: a > b, "NumericGreaterThanEquals": lambda a, b: a >= b,
        }[base]

        def numeric(v: str) -> bool:
            n = _number(v)
            if n is None:
                return False
            if base == "NumericNotEquals":  # "not equal to any of the values"
                return all(compare(n, x) for x in numbers)
            return any(compare(n, x) for x in numbers)
        return numeric, False
    return None


@dataclass(frozen=True, slots=True)
class Condition:
    """One key under one operator, e.g. {"StringEquals": {"aws:SourceAccount": "123"}}."""

    operator: str  # as written, for messages
    key: str  # lowercased: condition keys are case-insensitive
    set_op: str  # "", "any" or "all"
    if_exists: bool
    null_check: bool | None  # Null: True means "the key must be absent"
    test: Test | None  # None: an operator IAM knows that is not implemented here
    negated: bool

    def check(self, context: Mapping[str, tuple[str, ...]]) -> bool | None:
        """True / False, or None when this condition cannot be judged here."""
        present = self.key in context
        if not present and self.key not in KNOWN_KEYS:
            return None
        if self.null_check is not None:
            return (not present) == self.null_check
        if self.test is None:
            return None
        if not present:
            # IAM's missing-key rules: IfExists passes, a negated operator passes, ForAllValues
            # passes (vacuously), everything else fails.
            if self.set_op == "all" or self.if_exists:
                return True
            return self.negated and self.set_op == ""
        values = context[self.key]
        test = self.test
        if self.set_op == "all":
            return all(test(v) != self.negated for v in values)
        if self.set_op == "any":
            return any(test(v) != self.negated for v in values)
        hit = any(test(v) for v in values)
        return not hit if self.negated else hit


def compile_condition(operator: str, key: str, values: Sequence[str]) -> Condition:
    """A Condition from one operator/key pair; the operator is known to be one IAM accepts."""
    base, set_op = operator, ""
    for prefix in SET_PREFIXES:
        if base.startswith(prefix):
            base, set_op = base[len(prefix):], prefix[3:6].lower()  # "any" / "all"
            break
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        return Condition(operator, key.lower(), set_op, if_exists,
                         null_check=all(v.lower() == "true" for v in values), test=None, negated=False)
    built = _build_test(base, values)
    test, negated = built if built else (None, False)
    return Condition(operator, key.lower(), set_op, if_exists, None, test, negated)


def base_operator(operator: str) -> str:
    """The operator without ForAnyValue:/ForAllValues: and IfExists, to check IAM knows it."""
    for prefix in SET_PREFIXES:
        if operator.startswith(prefix):
            operator = operator[len(prefix):]
            break
    return operator[: -len("IfExists")] if operator.endswith("IfExists") else operator

"""Forms of the IAM pages. Policy documents are checked by console.policy, IAM's own rules,
so a malformed one is refused beside its editor with IAM's reason before anything changes."""
from __future__ import annotations

import re

from django import forms

from .. import policy
from .errors import IamError

NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)
# The IAM console's wording of its name rules.
ROLE_NAME_RULE = "Use alphanumeric and '+=,.@-_' characters. Maximum 64 characters."
POLICY_NAME_RULE = "Use alphanumeric and '+=,.@-_' characters. Maximum 128 characters."


class IAMNameField(forms.CharField):
    def __init__(self, *, max_length: int, rule: str, **kwargs) -> None:
        self.rule = rule
        super().__init__(max_length=max_length, **kwargs)
        self.error_messages["max_length"] = rule

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and not NAME_RE.fullmatch(value):
            raise forms.ValidationError(self.rule)


class PolicyDocumentField(forms.CharField):
    """A JSON policy document, edited in the console's JSON editor (a textarea without scripts)."""

    def __init__(self, kind: str = "identity", **kwargs) -> None:
        self.kind = kind
        kwargs.setdefault("label", "Policy editor")
        super().__init__(strip=False, widget=forms.Textarea(attrs={
            "data-json-editor": "", "rows": 20, "spellcheck": "false", "class": "policy-text"}), **kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        try:
            policy.parse(value, self.kind)
        except policy.MalformedPolicy as exc:
            raise forms.ValidationError(str(exc))


def add_iam_error(form: forms.Form, error: IamError, fields: dict[str, str]) -> None:
    """Show an error of IAM's services beside the field it is about (by its code), or above the form."""
    field = fields.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


def policy_choices(attachable) -> list[tuple[str, str]]:
    return [(p.arn, p.name) for p in attachable]


class RoleCreateForm(forms.Form):
    trust_policy = PolicyDocumentField(kind="trust", label="Trust policy")
    policies = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                         label="Permissions policies")
    name = IAMNameField(max_length=64, rule=ROLE_NAME_RULE, label="Role name")
    description = forms.CharField(max_length=1000, required=False, label="Description",
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, attachable=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policies"].choices = policy_choices(attachable)


class InlinePolicyForm(forms.Form):
    name = IAMNameField(max_length=128, rule=POLICY_NAME_RULE, label="Policy name")
    document = PolicyDocumentField(kind="identity")


class TrustPolicyForm(forms.Form):
    document = PolicyDocumentField(kind="trust", label="Trust policy")


class AttachPoliciesForm(forms.Form):
    policies = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Other permissions policies",
                                         error_messages={"required": "Choose at least one policy to attach."})

    def __init__(self, *args, attachable=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policies"].choices = policy_choices(attachable)


class ExecutionRoleForm(forms.Form):
    """The execution role of a function: a new role with basic Lambda permissions, or one of the account's."""

    CHOICES = [("new", "Create a new role with basic Lambda permissions"), ("existing", "Use an existing role")]

    # Not required: a form posted without it (the API's habits, older pages) gets AWS's default.
    execution_role = forms.ChoiceField(choices=CHOICES, initial="new", required=False, widget=forms.RadioSelect,
                                       label="Execution role")
    existing_role = forms.ChoiceField(required=False, label="Existing role")

    def __init__(self, *args, roles=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["existing_role"].choices = [("", "Choose an existing role")] + [
            (role.name, role.name) for role in roles]

    def clean(self) -> dict:
        data = super().clean()
        data["execution_role"] = data.get("execution_role") or "new"
        if data["execution_role"] == "existing" and not data.get("existing_role"):
            self.add_error("existing_role", "Choose an existing role.")
        return data

"""Functions made before roles existed reported arn:aws:iam::<account>:role/lambda-execution.

That role now exists in each such account, trusting Lambda with AWS's basic execution
policy attached, and those functions (and their versions) name it: what they reported stays
true, and they get credentials like any other function.
"""
import json

from django.db import migrations

ROLE_NAME = "lambda-execution"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def give_roles(apps, schema_editor):
    Function = apps.get_model("console", "Function")
    Version = apps.get_model("console", "Version")
    Role = apps.get_model("iam", "Role")
    Attachment = apps.get_model("iam", "RolePolicyAttachment")
    from console.iam.models import new_role_id

    accounts = {f.account_id: f.account for f in Function.objects.filter(role="").select_related("account")}
    accounts.update({v.function.account_id: v.function.account
                     for v in Version.objects.filter(role="").select_related("function__account")})
    for account in accounts.values():
        role = Role.objects.filter(account=account, name__iexact=ROLE_NAME).first()
        if role is None:
            role = Role.objects.create(account=account, name=ROLE_NAME, path="/", role_id=new_role_id(),
                                       assume_role_policy=TRUST,
                                       description="Made for the functions that existed before roles.")
            Attachment.objects.create(role=role, policy_arn=BASIC)
        arn = f"arn:aws:iam::{account.account_id}:role{role.path}{role.name}"
        Function.objects.filter(account=account, role="").update(role=arn)
        Version.objects.filter(function__account=account, role="").update(role=arn)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0009_execution_role_and_resource_policy"),
        ("iam", "0001_roles_and_policies"),
    ]
    operations = [migrations.RunPython(give_roles, migrations.RunPython.noop)]

"""Schedules made before resource-based policies fired without asking the function.

A schedule fires now only where the function's policy allows events.amazonaws.com with the
rule's ARN as source (what AWS's console adds with an EventBridge trigger). Each existing rule
gets that statement, so every schedule keeps firing as it did. Written out here rather than
through console.services.permissions: a migration must keep doing what it did when it was written.
"""
import uuid

from django.conf import settings
from django.db import migrations

EVENTS = "events.amazonaws.com"


def _function_arn(account_id, name, qualifier):
    arn = f"arn:aws:lambda:{settings.LAMBDA_REGION}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def allow_schedules(apps, schema_editor):
    ScheduleRule = apps.get_model("console", "ScheduleRule")
    FunctionPermission = apps.get_model("console", "FunctionPermission")
    for rule in ScheduleRule.objects.select_related("account", "function"):
        account_id = rule.account.account_id
        rule_arn = f"arn:aws:events:{settings.LAMBDA_REGION}:{account_id}:rule/{rule.name}"
        qualifier = rule.qualifier if rule.qualifier not in ("", "$LATEST") else ""
        existing = FunctionPermission.objects.filter(function=rule.function, qualifier=qualifier)
        if any(p.statement.get("Principal") == {"Service": EVENTS}
               and p.statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == rule_arn
               for p in existing):
            continue
        sid = f"lambda-{uuid.uuid4()}"
        FunctionPermission.objects.create(
            function=rule.function, qualifier=qualifier, statement_id=sid,
            statement={"Sid": sid, "Effect": "Allow", "Principal": {"Service": EVENTS},
                       "Action": "lambda:InvokeFunction",
                       "Resource": _function_arn(account_id, rule.function.name, qualifier),
                       "Condition": {"ArnLike": {"AWS:SourceArn": rule_arn}}})


class Migration(migrations.Migration):
    dependencies = [("console", "0010_existing_functions_get_a_role")]
    operations = [migrations.RunPython(allow_schedules, migrations.RunPython.noop)]

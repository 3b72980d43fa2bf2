"""Schedule rules: expressions checked as AWS does, fired by the real beat scheduler."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from console.errors import InvalidParameterValue
from console.models import LogEvent
from console.services.schedules import (Cron, Rate, next_firings, parse_expression, schedule_rule_create,
                                        schedule_rule_delete, schedule_rule_update)
from console.services.triggers import schedule_trigger_add

from .conftest import eventually, python_function

PRINT_EVENT = "import json\ndef lambda_handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"


@pytest.mark.parametrize("expression,expected", [
    ("rate(1 minute)", Rate(1, "minutes")),
    ("rate(5 minutes)", Rate(5, "minutes")),
    ("rate(2 hours)", Rate(2, "hours")),
    ("rate(1 day)", Rate(1, "days")),
    ("cron(0 12 * * ? *)", Cron("0", "12", "*", "*", "*")),
    ("cron(15 10 ? * 6L 2002-2005)", None),
    ("cron(0/15 * ? * MON-FRI *)", Cron("0-59/15", "*", "*", "*", "1-5")),
    ("cron(0 8 ? * 2 *)", Cron("0", "8", "*", "*", "1")),
])
def test_expressions_parse_like_aws(expression, expected):
    if expected is None:
        with pytest.raises(InvalidParameterValue):
            parse_expression(expression)
    else:
        assert parse_expression(expression) == expected


@pytest.mark.parametrize("expression,reason", [
    ("rate(0 minutes)", "positive"),
    ("rate(1 minutes)", "'minute' for a value of 1"),
    ("rate(5 minute)", "'minute' for a value of 1 and 'minutes' otherwise"),
    ("rate(5 weeks)", "rate(value unit)"),
    ("cron(0 12 * * *)", "6 fields"),
    ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("cron(61 12 * * ? *)", "minutes: '61'"),
    ("cron(0 25 * * ? *)", "hours: '25'"),
    ("cron(0 12 ? * 9 *)", "day-of-week: 9 is outside 1-7"),
    ("cron(0 12 * 13 ? *)", "month: '13'"),
    ("every day", "rate(value unit)"),
])
def test_malformed_expressions_name_the_field_and_reason(expression, reason):
    with pytest.raises(InvalidParameterValue) as caught:
        parse_expression(expression)
    assert caught.value.field == "ScheduleExpression"
    assert reason in caught.value.message


def test_a_rule_owns_a_periodic_task_that_follows_its_changes(alice_account):
    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_rule_create(alice_account, "every-5", "rate(5 minutes)", fn)
    task = PeriodicTask.objects.get(pk=rule.periodic_task_id)
    assert task.enabled and task.interval.every == 5 and task.task == "console.tasks.fire_schedule_rule"
    schedule_rule_update(rule, expression="cron(30 6 ? * MON *)", enabled=False)
    task.refresh_from_db()
    assert not task.enabled and task.interval is None and task.crontab.hour == "6"
    assert task.crontab.day_of_week == "1"  # Monday, in cron's numbering
    schedule_rule_delete(rule)
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_next_firing_times(alice_account):
    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_rule_create(alice_account, "noon", "cron(0 12 * * ? *)", fn)
    times = next_firings(rule, 3)
    assert [t.hour for t in times] == [12, 12, 12] and all(t.minute == 0 for t in times)
    assert times[0] > timezone.now() and times[1] - times[0] == dt.timedelta(days=1)
    rate = schedule_rule_create(alice_account, "often", "rate(10 minutes)", fn)
    first, second = next_firings(rate, 2)
    assert second - first == dt.timedelta(minutes=10) and first > timezone.now()


def test_bad_constant_input_is_refused(alice_account):
    fn = python_function(alice_account, PRINT_EVENT)
    with pytest.raises(InvalidParameterValue) as caught:
        schedule_rule_create(alice_account, "bad-input", "rate(1 minute)", fn, input="{not json")
    assert caught.value.field == "Input"


def _tick_until_sent(rule) -> None:
    """Make the rule due and let the real DatabaseScheduler send it, as beat would."""
    from django_celery_beat.schedulers import DatabaseScheduler

    from console.celery import app

    PeriodicTask.objects.filter(pk=rule.periodic_task_id).update(
        last_run_at=timezone.now() - dt.timedelta(minutes=2), start_time=timezone.now() - dt.timedelta(minutes=3))
    scheduler = DatabaseScheduler(app=app, lazy=False)
    entry = scheduler.schedule[rule.periodic_task.name]
    assert entry.is_due().is_due
    scheduler.apply_entry(entry, producer=None)


@pytest.mark.integration
def test_a_rate_schedule_fires_with_the_scheduled_event_shape(worker, alice_account):
    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_trigger_add(alice_account, fn, "every-minute", "rate(1 minute)")
    _tick_until_sent(rule)
    line = eventually(lambda: LogEvent.objects.get(function=fn, message__startswith="EVENT "), timeout=20)
    event = json.loads(line.message[len("EVENT "):])
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["version"] == "0" and event["detail"] == {}
    assert event["account"] == alice_account.account_id and event["region"] == "us-east-1"
    assert event["resources"] == [f"arn:aws:events:us-east-1:{alice_account.account_id}:rule/every-minute"]
    assert event["time"].endswith("Z")
    assert fn.invocations.get().source == "schedule"


@pytest.mark.integration
def test_constant_input_replaces_the_scheduled_event(worker, alice_account):
    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_trigger_add(alice_account, fn, "with-input", "rate(1 minute)", input='{"job": "cleanup"}')
    _tick_until_sent(rule)
    line = eventually(lambda: LogEvent.objects.get(function=fn, message__startswith="EVENT "), timeout=20)
    assert json.loads(line.message[len("EVENT "):]) == {"job": "cleanup"}


@pytest.mark.parametrize("expression,gap", [
    ("rate(5 minutes)", dt.timedelta(minutes=5)),
    ("cron(0 9,10 * * ? *)", dt.timedelta(hours=1)),  # 9:00 and 10:00 each day: the least gap
    ("cron(0/15 * ? * MON-FRI *)", dt.timedelta(minutes=15)),
])
def test_the_shortest_gap_between_firings(alice_account, expression, gap):
    from console.services.schedules import shortest_gap

    rule = schedule_rule_create(alice_account, "gap", expression, python_function(alice_account, PRINT_EVENT))
    assert shortest_gap(rule.periodic_task) == gap


def test_a_firing_that_arrives_twice_invokes_once(alice_account, caplog):
    """A beat killed between sending a firing and recording it sends it again when it restarts."""
    from console.models import Invocation
    from console.tasks import fire_schedule_rule

    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_trigger_add(alice_account, fn, "once", "rate(1 minute)")
    fire_schedule_rule(rule.pk)
    fire_schedule_rule(rule.pk)
    assert Invocation.objects.filter(function=fn, source="schedule").count() == 1
    assert "fired again within half its period" in caplog.text
    other = schedule_trigger_add(alice_account, fn, "other", "rate(1 minute)")
    fire_schedule_rule(other.pk)  # each rule has its own record of its last firing
    assert Invocation.objects.filter(function=fn, source="schedule").count() == 2


# Lambda developer guide, "Using resource-based policies for Lambda": EventBridge invokes a
# function only where its policy allows events.amazonaws.com for the rule's ARN; AWS's console
# adds that statement with the trigger, and a rule made without it fires into a refusal.
def test_a_schedule_without_permission_does_not_fire(alice_account, caplog):
    from console.models import Invocation
    from console.tasks import fire_schedule_rule

    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_rule_create(alice_account, "no-permission", "rate(1 minute)", fn)
    fire_schedule_rule(rule.pk)
    assert not Invocation.objects.filter(function=fn).exists()
    assert "may not invoke" in caplog.text


def test_adding_a_schedule_trigger_allows_events_for_that_rule_only(alice_account):
    from console.models import Invocation
    from console.services.permissions import EVENTS, allows_service, policy_get
    from console.tasks import fire_schedule_rule

    fn = python_function(alice_account, PRINT_EVENT)
    rule = schedule_trigger_add(alice_account, fn, "allowed", "rate(1 minute)")
    document, _ = policy_get(fn, None)
    [statement] = document["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction" and statement["Resource"] == fn.arn
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": rule.arn}}
    other_rule = rule.arn.replace("rule/allowed", "rule/other")
    assert allows_service(fn, None, EVENTS, rule.arn, alice_account.account_id)
    assert not allows_service(fn, None, EVENTS, other_rule, alice_account.account_id)
    assert not allows_service(fn, None, "s3.amazonaws.com", rule.arn, alice_account.account_id)
    fire_schedule_rule(rule.pk)
    assert Invocation.objects.filter(function=fn, source="schedule").count() == 1

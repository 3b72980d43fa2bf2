"""Schedule rules: EventBridge's rate() and cron() expressions, run by Celery beat.

Each rule owns one django-celery-beat PeriodicTask, so the database scheduler (a
maintained one, not a loop of ours) decides when it fires; the task it fires invokes the
function asynchronously with AWS's "Scheduled Event".
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass

from celery.schedules import crontab, crontab_parser, schedule
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..models import Account, Function, ScheduleRule

RULE_NAME_RE = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON_RE = re.compile(r"^cron\((.*)\)$")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIRE_TASK = "console.tasks.fire_schedule_rule"


@dataclass(frozen=True)
class Rate:
    every: int
    period: str  # IntervalSchedule.MINUTES / HOURS / DAYS


@dataclass(frozen=True)
class Cron:
    minute: str
    hour: str
    day_of_month: str
    month_of_year: str
    day_of_week: str


def _invalid(reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Parameter ScheduleExpression is not valid: {reason}", field="ScheduleExpression")


def parse_expression(expression: str) -> Rate | Cron:
    """Check an expression as AWS does; the error names the field and the reason."""
    expression = (expression or "").strip()
    if match := RATE_RE.match(expression):
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            raise _invalid("the rate value must be a positive number.")
        if (value == 1) != (not unit.endswith("s")):
            raise _invalid(f"use '{unit.rstrip('s')}' for a value of 1 and '{unit.rstrip('s')}s' otherwise.")
        period = {"minute": IntervalSchedule.MINUTES, "hour": IntervalSchedule.HOURS,
                  "day": IntervalSchedule.DAYS}[unit.rstrip("s")]
        return Rate(value, period)
    if match := CRON_RE.match(expression):
        return _parse_cron(match.group(1).split())
    raise _invalid("it must be rate(value unit) or cron(minutes hours day-of-month month day-of-week year).")


def _parse_cron(fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise _invalid(f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}.")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise _invalid("exactly one of day-of-month and day-of-week must be '?'.")
    if year not in ("*", "?"):
        raise _invalid("year: only '*' is supported here.")
    for name, value in (("day-of-month", dom), ("day-of-week", dow)):
        if any(mark in value for mark in ("L", "W", "#")) and value != "?":
            raise _invalid(f"{name}: L, W and # are not supported here.")
    dom = "*" if dom == "?" else _start_step(dom, 31)
    dow = "*" if dow == "?" else _start_step(_aws_days_to_cron(dow), 6)
    minute, hour, month = _start_step(minute, 59), _start_step(hour, 23), _start_step(month, 12)
    for name, value, parser in (("minutes", minute, crontab_parser(60)), ("hours", hour, crontab_parser(24)),
                                ("day-of-month", dom, crontab_parser(31, 1)), ("month", month, crontab_parser(12, 1)),
                                ("day-of-week", dow, crontab_parser(7))):
        try:
            parser.parse(value)
        except (ValueError, IndexError) as exc:
            raise _invalid(f"{name}: {value!r} is not valid ({exc}).")
    return Cron(minute, hour, dom, month, dow)


def _start_step(value: str, highest: int) -> str:
    """AWS's "5/15" (from 5, every 15) is cron's "5-59/15"."""
    return re.sub(r"(?:^|(?<=,))(\d+)/(\d+)", lambda m: f"{m.group(1)}-{highest}/{m.group(2)}", value)


def _aws_days_to_cron(value: str) -> str:
    """AWS numbers days 1-7 from Sunday; cron numbers them 0-6."""
    def convert(token: str) -> str:
        if token.isdigit():
            day = int(token)
            if not 1 <= day <= 7:
                raise _invalid(f"day-of-week: {token} is outside 1-7.")
            return str(day - 1)
        upper = token.upper()
        return str(DAY_NAMES.index(upper)) if upper in DAY_NAMES else token
    return re.sub(r"[A-Za-z0-9]+", lambda m: convert(m.group(0)), value)


def _celery_schedule(parsed: Rate | Cron):
    if isinstance(parsed, Rate):
        seconds = {IntervalSchedule.MINUTES: 60, IntervalSchedule.HOURS: 3600, IntervalSchedule.DAYS: 86400}
        return schedule(dt.timedelta(seconds=parsed.every * seconds[parsed.period]))
    return crontab(minute=parsed.minute, hour=parsed.hour, day_of_month=parsed.day_of_month,
                   month_of_year=parsed.month_of_year, day_of_week=parsed.day_of_week)


def next_firings(rule: ScheduleRule, count: int = 5) -> list[dt.datetime]:
    """When the rule fires next, as the scheduler will compute it."""
    if rule.state != ScheduleRule.RuleState.ENABLED:
        return []
    parsed = parse_expression(rule.schedule_expression)
    sched = _celery_schedule(parsed)
    now = timezone.now()
    if isinstance(parsed, Rate):
        last = rule.periodic_task.last_run_at if rule.periodic_task and rule.periodic_task.last_run_at else \
            (rule.periodic_task.start_time if rule.periodic_task and rule.periodic_task.start_time else now)
        step = sched.run_every
        first = last + step
        while first < now:
            first += step
        return [first + i * step for i in range(count)]
    return _cron_times(sched, now, count)


def _cron_times(sched: crontab, after: dt.datetime, count: int) -> list[dt.datetime]:
    times, cursor = [], after
    for _ in range(count):
        last, delta, _now = sched.remaining_delta(cursor)
        cursor = last + delta
        times.append(cursor)
    return times


def shortest_gap(task: PeriodicTask) -> dt.timedelta:
    """The least time between two firings of the task's schedule (its next six, for a cron)."""
    sched = task.schedule
    if isinstance(sched, crontab):
        times = _cron_times(sched, timezone.now(), 6)
        return min(later - earlier for earlier, later in zip(times, times[1:]))
    return sched.run_every


def claim_firing(rule: ScheduleRule, redis) -> bool:
    """True for the first firing of the rule in half its shortest gap; False for a repeat.

    Beat writes when it last fired each schedule after sending it (CELERY_BEAT_SYNC_EVERY),
    and the fired task is acknowledged after it ran: a beat killed between the two, or a
    worker killed while running the task, makes the same firing arrive twice. A firing that
    follows the last one by less than half the schedule's shortest gap is that repeat.
    """
    task = rule.periodic_task
    gap = shortest_gap(task)
    # The start time tells this rule from a deleted one whose id the database gave again.
    key = f"lambda:schedule:fired:{rule.pk}:{task.start_time.timestamp() if task.start_time else 0}"
    return bool(redis.set(key, "1", nx=True,
                          px=max(1, int(gap.total_seconds() * 500))))


def scheduled_event(rule: ScheduleRule) -> dict:
    """AWS's "Scheduled Event", as EventBridge sends it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account.account_id,
        "time": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": settings.LAMBDA_REGION,
        "resources": [rule.arn],
        "detail": {},
    }


def _validate_input(text: str) -> str:
    if not text:
        return ""
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidParameterValue(f"Input must be valid JSON: {exc}", field="Input")
    return text


def _sync_task(rule: ScheduleRule, parsed: Rate | Cron) -> None:
    """Point the rule's PeriodicTask at its schedule; the beat scheduler notices changes."""
    interval = crontab_row = None
    if isinstance(parsed, Rate):
        interval, _ = IntervalSchedule.objects.get_or_create(every=parsed.every, period=parsed.period)
    else:
        crontab_row, _ = CrontabSchedule.objects.get_or_create(
            minute=parsed.minute, hour=parsed.hour, day_of_month=parsed.day_of_month,
            month_of_year=parsed.month_of_year, day_of_week=parsed.day_of_week, timezone="UTC")
    task = rule.periodic_task or PeriodicTask(name=f"schedule-rule:{rule.account.account_id}:{rule.name}",
                                              task=FIRE_TASK, start_time=timezone.now())
    task.interval, task.crontab = interval, crontab_row
    task.args = json.dumps([rule.pk])
    task.queue = "lambda.async"
    task.enabled = rule.state == ScheduleRule.RuleState.ENABLED
    task.description = f"{rule.schedule_expression} -> {rule.function.name}"
    task.save()
    if rule.periodic_task_id != task.pk:
        rule.periodic_task = task
        rule.save(update_fields=["periodic_task"])


@transaction.atomic
def schedule_rule_create(account: Account, name: str, expression: str, function: Function, *,
                         input: str = "", description: str = "", enabled: bool = True,
                         qualifier: str = "") -> ScheduleRule:
    if not RULE_NAME_RE.match(name or ""):
        raise InvalidParameterValue("Rule name must be 1 to 64 letters, numbers, '.', '-' or '_'.", field="Name")
    if function.account_id != account.pk:
        raise ResourceNotFound(f"Function not found: {function.name}", field="FunctionName")
    parsed = parse_expression(expression)
    input = _validate_input(input)
    if ScheduleRule.objects.filter(account=account, name=name).exists():
        raise ResourceConflict(f"Rule {name} already exists.", field="Name")
    rule = ScheduleRule.objects.create(
        account=account, name=name, schedule_expression=expression.strip(), function=function, input=input,
        description=description, qualifier=qualifier,
        state=ScheduleRule.RuleState.ENABLED if enabled else ScheduleRule.RuleState.DISABLED)
    _sync_task(rule, parsed)
    return rule


@transaction.atomic
def schedule_rule_update(rule: ScheduleRule, *, expression: str | None = None, input: str | None = None,
                         enabled: bool | None = None, description: str | None = None) -> ScheduleRule:
    parsed = parse_expression(expression if expression is not None else rule.schedule_expression)
    if expression is not None:
        rule.schedule_expression = expression.strip()
    if input is not None:
        rule.input = _validate_input(input)
    if enabled is not None:
        rule.state = ScheduleRule.RuleState.ENABLED if enabled else ScheduleRule.RuleState.DISABLED
    if description is not None:
        rule.description = description
    rule.save()
    _sync_task(rule, parsed)
    return rule


@transaction.atomic
def schedule_rule_delete(rule: ScheduleRule) -> None:
    if rule.periodic_task_id:
        PeriodicTask.objects.filter(pk=rule.periodic_task_id).delete()
    rule.delete()

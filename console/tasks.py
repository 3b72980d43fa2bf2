"""Celery tasks of the console: what the beat scheduler fires."""
from __future__ import annotations

import json

from celery import shared_task

from .models import ScheduleRule


@shared_task(name="console.tasks.fire_schedule_rule", queue="lambda.async", ignore_result=True)
def fire_schedule_rule(rule_id: int) -> None:
    """Invoke a rule's function asynchronously with its Scheduled Event (or constant input)."""
    from executor.invoke import invoke

    from .services.schedules import scheduled_event

    rule = ScheduleRule.objects.select_related("account", "function__account").filter(pk=rule_id).first()
    if rule is None or rule.state != ScheduleRule.RuleState.ENABLED:
        return  # deleted or disabled since the scheduler read it
    payload = rule.input or json.dumps(scheduled_event(rule))
    invoke(rule.function, payload, invocation_type="Event", qualifier=rule.qualifier or None, source="schedule")


# On the async queue, the one every worker consumes (as executor.tasks.reap). No retry: the
# next run, an interval later, picks up whatever this one left. Its deletes go in short
# batches, so it shares the database with the recorder rather than stopping it.
@shared_task(name="console.tasks.housekeeping", queue="lambda.async", ignore_result=True)
def housekeeping() -> dict[str, int]:
    """Delete expired log lines, old invocation rows and unused code (run by beat)."""
    from .services.retention import housekeeping_run

    return housekeeping_run().as_dict()

"""Celery tasks of the console: what the beat scheduler fires."""
from __future__ import annotations

import logging

from celery import shared_task

from executor import redis_client
from executor.invoke import invoke

from .models import ScheduleRule
from .services.permissions import EVENTS, allows_service
from .services.retention import housekeeping_run
from .services.schedules import claim_firing, scheduled_event

log = logging.getLogger(__name__)


@shared_task(name="console.tasks.fire_schedule_rule", queue="lambda.async", ignore_result=True)
def fire_schedule_rule(rule_id: int) -> None:
    """Invoke a rule's function asynchronously with its Scheduled Event (or constant input)."""
    rule = ScheduleRule.objects.select_related("account", "function__account", "periodic_task").filter(
        pk=rule_id).first()
    if rule is None or rule.state != ScheduleRule.RuleState.ENABLED or rule.periodic_task is None:
        return  # deleted or disabled since the scheduler read it
    if not claim_firing(rule, redis_client.client()):
        log.warning("schedule rule %s fired again within half its period: the repeat is dropped "
                    "(beat or a worker restarted between sending and recording it)", rule.arn)
        return
    if not allows_service(rule.function, rule.qualifier or None, EVENTS, rule.arn, rule.account.account_id):
        # As on AWS: EventBridge's call is refused by the function's resource-based policy.
        log.warning("schedule rule %s may not invoke %s: its resource-based policy does not allow %s with that "
                    "source ARN (the console adds the permission when it adds the trigger)", rule.arn,
                    rule.function.arn, EVENTS)
        return
    payload = rule.input or scheduled_event(rule)
    invoke(rule.function, payload, invocation_type="Event", qualifier=rule.qualifier or None, source="schedule")


# On the async queue, the one every worker consumes (as executor.tasks.reap). No retry: the
# next run, an interval later, picks up whatever this one left. Its deletes go in short
# batches, so it shares the database with the recorder rather than stopping it.
@shared_task(name="console.tasks.housekeeping", queue="lambda.async", ignore_result=True)
def housekeeping() -> dict[str, int]:
    """Delete expired log lines, old invocation rows and unused code (run by beat)."""
    return housekeeping_run().as_dict()

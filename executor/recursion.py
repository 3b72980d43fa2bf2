"""Recursive loop detection, as AWS Lambda does it, for chains through destinations.

AWS follows one triggering event through the services it passes (the X-Ray trace header's
"Lineage" keeps a count per function) and, once a function has been invoked by the same
event 16 times, stops the next invocation: the event goes to the function's on-failure
destination (or dead-letter queue), and the function's `RecursiveLoop` setting
("Terminate", the default, or "Allow") decides whether it is stopped at all
(docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html; the launch post
"Detecting and stopping recursive loops in AWS Lambda functions").

Here an event reaches a function through a destination as an asynchronous invocation
whose payload is the invocation record of the one before it, so the chain is followed
back through `requestContext.requestId`. `Invocation.chain_depth` counts how many times
the row's own function already ran earlier in its chain, so the count is per function as
on AWS: in A -> B -> A -> B ... A's appearances count for A, B's for B.
"""
from __future__ import annotations

import json

from console.models import Function, Invocation, RecursiveLoop

MAX_CHAIN = 16  # invocations of one function by one event that run; the next is stopped
ERROR = "RecursiveInvocationException"  # the error AWS answers a stopped caller with
# AWS names no condition for this case in its invocation record; the failure destination
# is told with the error's own name, beside RetriesExhausted and EventAgeExceeded.
CONDITION = "RecursiveInvocationException"
# How far back a chain is followed to find the function's previous appearance: a loop
# through more functions than this is not recognised (each step is one indexed query).
WALK_LIMIT = 32

_FIELDS = ("pk", "request_id", "function_id", "source", "payload", "chain_depth", "error_type")


def parent_of(invocation: Invocation) -> Invocation | None:
    """The invocation whose record started this one through a destination, if any."""
    if invocation.source != "destination":
        return None
    try:
        request_id = json.loads(invocation.payload)["requestContext"]["requestId"]
    except (ValueError, KeyError, TypeError):
        return None
    return Invocation.objects.filter(request_id=request_id).only(*_FIELDS).first()


def chain_depth(function: Function, parent: Invocation | None) -> int:
    """How many times `function` already ran in the chain that ends with `parent`."""
    node = parent
    for _ in range(WALK_LIMIT):
        if node is None:
            return 0
        if node.function_id == function.pk:
            return node.chain_depth + 1
        node = parent_of(node)
    return 0


def must_stop(invocation: Invocation) -> bool:
    """Whether this event would run its function once more than a loop may (and that is not allowed)."""
    return (invocation.chain_depth >= MAX_CHAIN
            and invocation.function.recursive_loop != RecursiveLoop.ALLOW)


def parent_was_stopped(invocation: Invocation) -> bool:
    """A stopped event's record routed to a failure destination that is itself looping.

    Routing such an event on again would go round forever (a function whose on-failure
    destination is itself), so it is kept as dead-lettered instead.
    """
    parent = parent_of(invocation)
    return parent is not None and parent.error_type == ERROR

"""An execution environment's life, as one state with checked transitions.

    STARTING -> INITIALIZING -> IDLE <-> BUSY
    INITIALIZING -> BUSY          (a cold start's invocation waits for the init to end)
    STARTING, INITIALIZING, IDLE, BUSY -> BROKEN   (never reused: timed out, init failed,
                                                    exited, refused by the Runtime API, retired)
    any but STOPPED -> STOPPED    (its runtime gets no more events; its sandbox is removed)

Why an environment broke (the runtime's init error, its exit status, the Runtime API bound
it passed) is kept beside the state, as the facts its invocation's outcome reports.
"""
from __future__ import annotations

import enum
import logging

log = logging.getLogger(__name__)


class State(enum.Enum):
    STARTING = "starting"  # the sandbox is being started
    INITIALIZING = "initializing"  # the runtime runs its init; it has not asked for an event yet
    IDLE = "idle"  # ready, no invocation: may be reused
    BUSY = "busy"  # an invocation is in progress (on a cold start, maybe still waiting for the init)
    BROKEN = "broken"  # never reused; an invocation in progress still ends as it would
    STOPPED = "stopped"


LIVE = frozenset({State.INITIALIZING, State.IDLE, State.BUSY})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.STARTING: frozenset({State.INITIALIZING, State.BROKEN, State.STOPPED}),
    State.INITIALIZING: frozenset({State.IDLE, State.BUSY, State.BROKEN, State.STOPPED}),
    State.IDLE: frozenset({State.BUSY, State.BROKEN, State.STOPPED}),
    State.BUSY: frozenset({State.IDLE, State.BROKEN, State.STOPPED}),
    State.BROKEN: frozenset({State.STOPPED}),
    State.STOPPED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the life cycle does not allow: a bug in the caller, never a function's doing."""


def check(name: str, current: State, new: State) -> None:
    """Raise (and log) IllegalTransition unless `current` may move to `new`."""
    if new not in TRANSITIONS[current]:
        log.error("environment %s: illegal transition %s -> %s", name, current.value, new.value)
        raise IllegalTransition(f"environment {name}: {current.value} -> {new.value} is not allowed")

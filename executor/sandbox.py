"""What an execution environment runs its runtime in: the seam between the environment's
logic (executor/environment.py) and the Docker engine (executor/containers.py).

An environment needs little of its sandbox: start it, learn its address on the functions'
network, read its output until it ends, learn how it ended, measure one invocation's peak
memory, and remove it. Tests put a fake here to drive the environment without Docker.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Protocol

from . import containers, credentials, logs
from .containers import Exit
from .spec import EnvSpec


class SandboxFailed(Exception):
    """The sandbox could not be started for a reason of the function's (its image is missing,
    the engine refused its settings). An engine that does not answer raises
    containers.EngineUnavailable instead: a fault of the host, not the function's."""


class Sandbox(Protocol):
    def start(self) -> None:
        """Create and start it, its output already captured; SandboxFailed if it cannot."""

    def address(self) -> str:
        """Its address on the functions' network: how the Runtime API knows its runtime."""

    def output(self) -> Iterator[bytes]:
        """Its stdout and stderr as they come, until it ends (or is removed)."""

    def wait_exit(self) -> Exit:
        """How it ended, once output() is exhausted; Exit(-1, False) when that cannot be known."""

    def reset_peak_memory(self) -> None:
        """An invocation begins: peak_memory_bytes() counts from here."""

    def peak_memory_bytes(self) -> int | None:
        """The peak since reset_peak_memory(); None when it cannot be measured."""

    def remove(self, wait: bool) -> None:
        """Kill and remove it, now (`wait`) or in the background; removing twice is harmless."""


# (spec, environment id, log stream name, the environment's credentials as variables)
SandboxFactory = Callable[[EnvSpec, str, str, dict[str, str]], Sandbox]


class DockerSandbox:
    """A container on the worker's functions network, made by executor/containers.py."""

    def __init__(self, spec: EnvSpec, env_id: str, log_stream_name: str, secrets: dict[str, str], *,
                 network: str, runtime_api: str, worker: str) -> None:
        self.spec = spec
        self.env_id = env_id
        self.log_stream_name = log_stream_name
        self.secrets = secrets
        self.network = network
        self.runtime_api = runtime_api
        self.worker = worker
        self.container_id = ""
        self.sock: socket.socket | None = None
        self.memory = containers.PeakMemory(None)

    def start(self) -> None:
        try:
            started = containers.start(self.spec, self.env_id, self.runtime_api, self.network, self.worker,
                                       self.log_stream_name, credentials.endpoint_url(self.runtime_api),
                                       self.secrets)
        except containers.ContainerError as exc:
            raise SandboxFailed(str(exc)) from exc
        self.container_id, self.sock = started.container_id, started.sock
        self.memory = containers.PeakMemory(started.cgroup)

    def address(self) -> str:
        return containers.container_ip(self.container_id, self.network)

    def output(self) -> Iterator[bytes]:
        sock = self.sock
        if sock is None:
            return
        try:
            yield from logs.read_frames(sock)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def wait_exit(self) -> Exit:
        return containers.exit_of(self.container_id)

    def reset_peak_memory(self) -> None:
        self.memory.reset()

    def peak_memory_bytes(self) -> int | None:
        return self.memory.read()

    def remove(self, wait: bool) -> None:
        self.memory.close()
        if self.container_id:
            (containers.remove if wait else containers.remove_later)(self.container_id)


@dataclass(frozen=True)
class DockerSandboxes:
    """Makes one worker's sandboxes: on its network, pointed at its Runtime API."""

    network: str
    runtime_api: str
    worker: str

    def __call__(self, spec: EnvSpec, env_id: str, log_stream_name: str, secrets: dict[str, str]) -> DockerSandbox:
        return DockerSandbox(spec, env_id, log_stream_name, secrets, network=self.network,
                             runtime_api=self.runtime_api, worker=self.worker)

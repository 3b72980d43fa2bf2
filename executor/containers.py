"""The one module that talks to the Docker engine.

It creates containers with Lambda's limits, hands back a raw attach socket for the log
reader, reads a container's memory accounting from its cgroup, turns a container's end
into typed facts (exit status, OOM), removes containers, and says whether the engine has an
image. Nothing else imports docker (the image builder, `executor/images.py`, drives the
docker CLI at build time).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from .spec import EnvSpec

log = logging.getLogger(__name__)

LABEL = "lambda.managed"
SCOPE_LABEL = "lambda.scope"  # which deployment (Redis) a container belongs to
FUNCTION_USER = "993:990"  # sbx_user1051, as on AWS
PIDS_LIMIT = 1024  # AWS's limit on processes and threads
CPU_MB = 1769  # AWS gives one full vCPU at 1,769 MB

_client: docker.DockerClient | None = None
_client_lock = threading.Lock()


class ContainerError(Exception):
    """The engine refused or failed to start a container."""


class EngineUnavailable(Exception):
    """The Docker engine does not answer (stopped, restarting): a fault of the host, not the function's."""


def client() -> docker.DockerClient:
    global _client
    with _client_lock:
        if _client is None:
            try:
                _client = docker.from_env(timeout=120)
            except DockerException as exc:  # it asks the engine its API version: nothing answers
                raise EngineUnavailable(f"the Docker engine does not answer: {exc}") from exc
        return _client


def ensure_network(name: str) -> str:
    """The bridge network functions run on; returns its gateway address on the host.

    Containers on it cannot reach each other (icc off); the host side of the bridge is
    where the Runtime API listens.
    """
    api = client().api
    try:
        attrs = api.inspect_network(name)
    except NotFound:
        try:
            api.create_network(
                name, driver="bridge", check_duplicate=True,
                options={"com.docker.network.bridge.enable_icc": "false"}, labels={LABEL: "1"},
            )
        except APIError as exc:  # another worker created it first
            if exc.status_code != 409:
                raise
        attrs = api.inspect_network(name)
    configs = attrs.get("IPAM", {}).get("Config") or []
    for config in configs:
        if config.get("Gateway"):
            return config["Gateway"].split("/")[0]
    raise ContainerError(f"Docker network {name} has no gateway address")


def inspect_network(name: str) -> dict | None:
    """The engine's description of a network (bridge name, gateways), or None if missing."""
    try:
        return client().api.inspect_network(name)
    except NotFound:
        return None


@dataclass
class Started:
    container_id: str
    sock: socket.socket  # multiplexed stdout/stderr of the container
    cgroup: Path | None


def scope() -> str:
    """Deployments sharing one Docker engine (say, tests beside `make run`) keep apart."""
    import hashlib

    from django.conf import settings

    return hashlib.sha256(settings.REDIS_URL.encode()).hexdigest()[:12]


def start(spec: EnvSpec, env_id: str, runtime_api: str, network: str, worker: str,
          log_stream_name: str, endpoint_url: str = "", secrets: dict[str, str] | None = None) -> Started:
    """`secrets`: the role's credentials as variables; they are in the container's configuration
    (as on AWS, where the runtime's environment holds them) and never logged."""
    api = client().api
    environment = {
        # The AWS endpoint on the functions' network; a function may name another in its variables.
        **({"AWS_ENDPOINT_URL": endpoint_url} if endpoint_url else {}),
        **spec.environment,
        **(secrets or {}),
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
    }
    if spec.package_type == "Zip":
        environment["_HANDLER"] = spec.handler
        environment["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
    elif spec.handler:
        environment["_HANDLER"] = spec.handler
    binds = {spec.code_dir: {"bind": "/var/task", "mode": "ro"}} if spec.code_dir else {}
    vcpus = min(max(1.0, spec.memory_size / CPU_MB), 6.0)
    host_config = api.create_host_config(
        mem_limit=spec.memory_size * 1024 * 1024,
        memswap_limit=spec.memory_size * 1024 * 1024,  # no swap: the limit is the limit
        # CPU weight in proportion to memory, as on AWS; the hard cap keeps a spinning
        # function from taking the whole host, without throttling small functions to a crawl.
        cpu_shares=max(2, int(1024 * spec.memory_size / CPU_MB)),
        nano_cpus=int(vcpus * 1e9),
        pids_limit=PIDS_LIMIT,
        read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={spec.ephemeral_storage}m,mode=1777"},
        binds=binds,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        init=True,  # a real PID 1 reaps zombies and forwards signals
        network_mode=network,
        ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=1024)],
        log_config=docker.types.LogConfig(type="none"),  # we read the attach stream instead
    )
    config = spec.image_config or {}
    kwargs = {}
    if config.get("EntryPoint"):
        kwargs["entrypoint"] = config["EntryPoint"]
    if config.get("Command"):
        kwargs["command"] = config["Command"]
    if spec.package_type == "Zip":
        kwargs["working_dir"] = "/var/task"
    if config.get("WorkingDirectory"):
        kwargs["working_dir"] = config["WorkingDirectory"]
    container_id = ""
    try:
        created = api.create_container(
            spec.image,
            environment=environment,
            user=FUNCTION_USER,
            host_config=host_config,
            labels={LABEL: "1", SCOPE_LABEL: scope(), "lambda.worker": worker, "lambda.env": env_id,
                    "lambda.function": spec.function_arn},
            name=f"lambda-{env_id}",
            **kwargs,
        )
        container_id = created["Id"]
        attach = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1})
        sock = attach._sock  # the raw socket: docker frames, read by the log reader
        api.start(container_id)
    except ImageNotFound:
        raise ContainerError(f"Image not found on this Docker host: {spec.image}")
    except (APIError, DockerException) as exc:
        _discard(container_id)
        raise ContainerError(str(exc))
    except OSError as exc:  # requests' ConnectionError too: nothing answers on the engine's socket
        _discard(container_id)
        raise EngineUnavailable(f"the Docker engine does not answer: {exc}")
    return Started(container_id, sock, find_cgroup(container_id))


def _discard(container_id: str) -> None:
    """A container created but never started: nobody else would ever remove it."""
    if container_id:
        remove_later(container_id)


def container_ip(container_id: str, network: str) -> str:
    attrs = client().api.inspect_container(container_id)
    return attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


@dataclass(frozen=True)
class Exit:
    status: int
    oom_killed: bool

    def describe(self) -> str:
        """Go's wording for a process end, which AWS's messages use."""
        if self.oom_killed or self.status == 128 + signal.SIGKILL:
            return "signal: killed"
        if self.status > 128:
            try:
                name = signal.Signals(self.status - 128).name
            except ValueError:
                name = f"signal {self.status - 128}"
            return f"signal: {_go_signal_name(name)}"
        return f"exit status {self.status}"


def _go_signal_name(name: str) -> str:
    return {"SIGSEGV": "segmentation fault", "SIGABRT": "aborted", "SIGTERM": "terminated",
            "SIGBUS": "bus error", "SIGILL": "illegal instruction", "SIGFPE": "floating point exception",
            }.get(name, name.lower())


def exit_of(container_id: str) -> Exit:
    api = client().api
    try:
        result = api.wait(container_id, timeout=10)
        state = api.inspect_container(container_id)["State"]
        return Exit(int(result.get("StatusCode", state.get("ExitCode", -1))), bool(state.get("OOMKilled")))
    except (DockerException, OSError) as exc:
        log.warning("cannot read the exit of %s: %s", container_id[:12], exc)
        return Exit(-1, False)


def remove(container_id: str) -> None:
    """Kill and remove; a container that is already gone is fine."""
    try:
        # v: with the anonymous volumes the image declares (VOLUME), which would outlive it otherwise.
        client().api.remove_container(container_id, force=True, v=True)
    except NotFound:
        pass
    except (DockerException, OSError) as exc:
        log.warning("cannot remove container %s: %s", container_id[:12], exc)


def remove_later(container_id: str) -> None:
    threading.Thread(target=remove, args=(container_id,), daemon=True, name="remove-container").start()


def managed_containers() -> list[dict]:
    """Every container this deployment made on this engine: id and worker label."""
    return [
        {"id": c["Id"], "worker": c["Labels"].get("lambda.worker", "")}
        for c in client().api.containers(all=True, filters={"label": f"{SCOPE_LABEL}={scope()}"})
    ]


# Memory accounting from the container's cgroup: the cgroupfs driver's and systemd's paths,
# on cgroup v1 (memory controller mounted apart) and v2 (one unified tree).
_CGROUP_ROOTS = ("/sys/fs/cgroup/memory/docker/{id}", "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope",
                 "/sys/fs/cgroup/docker/{id}", "/sys/fs/cgroup/system.slice/docker-{id}.scope")


def find_cgroup(container_id: str) -> Path | None:
    for pattern in _CGROUP_ROOTS:
        path = Path(pattern.format(id=container_id))
        if path.is_dir():
            return path
    return None


class PeakMemory:
    """A container's peak memory use since the last `reset` (one invocation's), from its cgroup.

    cgroup v1 keeps a high-water mark, memory.max_usage_in_bytes, that a write of 0 resets
    (as root). cgroup v2 keeps memory.peak; since Linux 6.12 a write resets it, but only for
    reads through the same file descriptor, so the descriptor stays open for the container's
    life. Older v2 kernels cannot reset it: the figure is then the container's peak since it
    started, which is never below the invocation's own. Sampling memory.current instead would
    cost a thread per invocation and could miss a short peak between two samples, reporting
    less memory than the function needs; too high a figure is the safer mistake.
    """

    def __init__(self, cgroup: Path | None) -> None:
        self.cgroup = cgroup
        self.v1 = cgroup is not None and (cgroup / "memory.max_usage_in_bytes").exists()
        self.lock = threading.Lock()  # the descriptor is closed by whoever removes the container
        self.fd: int | None = None
        self.resettable = True  # v2: until the kernel refuses a reset

    def reset(self) -> None:
        if self.cgroup is None:
            return
        if self.v1:
            try:
                (self.cgroup / "memory.max_usage_in_bytes").write_text("0")
            except OSError:
                pass
            return
        with self.lock:
            if not self.resettable:
                return
            try:
                if self.fd is None:
                    self.fd = os.open(self.cgroup / "memory.peak", os.O_RDWR | os.O_CLOEXEC)
                os.write(self.fd, b"reset\n")
            except OSError:  # before 6.12 the file is read-only (EACCES on open, EINVAL on write)
                self.resettable = False
                self._close()

    def read(self) -> int | None:
        """Bytes; None when the cgroup cannot be read (not found, or the container is gone)."""
        if self.cgroup is None:
            return None
        try:
            if self.v1:
                return int((self.cgroup / "memory.max_usage_in_bytes").read_text())
            with self.lock:
                if self.fd is not None:
                    os.lseek(self.fd, 0, os.SEEK_SET)
                    return int(os.read(self.fd, 64))
            return int((self.cgroup / "memory.peak").read_text())
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def image_exists(image: str) -> bool:
    """Whether the engine has this image (a name it cannot parse is an image it does not have).

    Raises EngineUnavailable when the engine cannot say: "no such image" is an answer of the
    engine's, never a guess made because it did not answer.
    """
    try:
        client().api.inspect_image(image)
        return True
    except NotFound:
        return False
    except APIError as exc:
        if exc.status_code == 400:
            return False
        raise EngineUnavailable(f"the Docker engine cannot say whether it has {image}: {exc}") from exc
    except (DockerException, OSError) as exc:  # requests' ConnectionError is an OSError
        raise EngineUnavailable(f"the Docker engine does not answer: {exc}") from exc

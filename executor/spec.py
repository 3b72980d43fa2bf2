"""What an execution environment is made from, as plain values a Celery task can carry."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class EnvSpec:
    function_id: int  # internal key, for recording; never shown
    account_id: str
    function_name: str
    function_arn: str  # unqualified
    version: str  # "$LATEST" or a version number
    package_type: str  # "Zip" or "Image"
    runtime: str
    handler: str
    image: str  # the Docker image the container starts from
    code_dir: str  # host path mounted read-only at /var/task ("" for images)
    memory_size: int
    timeout: int
    ephemeral_storage: int
    region: str
    revision: str  # changes with every code or configuration update
    # The execution role whose temporary credentials the worker mints for each environment
    # ("" for none). Part of the key: a new role retires the environments holding the old one's.
    role: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    image_config: dict[str, Any] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    # What the account's functions reserve in all, when this one has no reservation: the worker
    # caps the account's unreserved functions at its concurrency limit minus this.
    account_reserved: int = 0

    @cached_property
    def key(self) -> str:
        """Environments are shared only between invocations of an identical spec.

        Concurrency is left out: changing a reservation must not retire warm environments.
        """
        data = asdict(self)
        data.pop("reserved_concurrency")
        data.pop("account_reserved")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]

    @property
    def family(self) -> str:
        """The function version whose older environments a newer spec retires."""
        return f"{self.function_arn}:{self.version}"

    def invoked_arn(self, qualifier: str | None) -> str:
        """The ARN the caller used, as a runtime sees it (Lambda-Runtime-Invoked-Function-Arn):
        unqualified when the caller named no qualifier, else with the version or alias it named."""
        return f"{self.function_arn}:{qualifier}" if qualifier else self.function_arn

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EnvSpec":
        return cls(**data)

    def sealed(self) -> str:
        """The spec as a Celery message may carry it through Redis: encrypted, because it holds
        the environment variables (Redis keeps messages, in its append-only file too), and
        authenticated, because it names the host directory mounted into the container."""
        from console.fields import seal_json

        return seal_json(self.to_dict())

    @classmethod
    def unseal(cls, token: str) -> "EnvSpec":
        """The spec `sealed` made; cryptography's InvalidToken if it was not made with our keys."""
        from console.fields import unseal_json

        return cls.from_dict(unseal_json(token))

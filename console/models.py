"""The data of the console: accounts, functions and their versions, invocations and logs."""
from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import arns
from .fields import EncryptedJSONField
from .limits import DEFAULT_MAX_AGE, DEFAULT_RETRIES
from .triggers import endpoints


def new_account_id() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(12))


class Account(models.Model):
    """A tenant: its 12-digit id appears in every ARN of its functions."""

    account_id = models.CharField(max_length=12, unique=True, default=new_account_id)
    name = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.account_id


class Membership(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="members")


class Runtime(models.TextChoices):
    PYTHON311 = "python3.11", "Python 3.11"
    NODEJS18 = "nodejs18.x", "Node.js 18.x"
    PROVIDED_AL2023 = "provided.al2023", "Amazon Linux 2023 (custom runtime)"


class PackageType(models.TextChoices):
    ZIP = "Zip"
    IMAGE = "Image"


class State(models.TextChoices):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    FAILED = "Failed"


class RecursiveLoop(models.TextChoices):
    ALLOW = "Allow"
    TERMINATE = "Terminate"


class FunctionConfiguration(models.Model):
    """What an execution environment is made from; $LATEST and each version carry one."""

    description = models.CharField(max_length=256, blank=True)
    package_type = models.CharField(max_length=5, choices=PackageType.choices, default=PackageType.ZIP)
    runtime = models.CharField(max_length=32, blank=True)
    handler = models.CharField(max_length=128, blank=True)
    image_uri = models.CharField(max_length=256, blank=True)
    # ImageConfig overrides: {"EntryPoint": [...], "Command": [...], "WorkingDirectory": "..."}
    image_config = models.JSONField(default=dict, blank=True)
    architecture = models.CharField(max_length=8, default="x86_64")
    memory_size = models.PositiveIntegerField(default=128)
    timeout = models.PositiveIntegerField(default=3)
    ephemeral_storage = models.PositiveIntegerField(default=512)
    # {name: value}, encrypted at rest; reads as a plain dict.
    environment = EncryptedJSONField(default=dict, blank=True)
    code_sha256 = models.CharField(max_length=64, blank=True)  # hex digest of the zip
    code_size = models.PositiveBigIntegerField(default=0)
    # The execution role's ARN (a role of the function's account that trusts Lambda); its
    # temporary credentials are the function's. "" only for rows made before roles existed.
    role = models.CharField(max_length=2048, blank=True)
    revision_id = models.UUIDField(default=uuid.uuid4)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Function(FunctionConfiguration):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="functions")
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    state_reason = models.CharField(max_length=500, blank=True)
    # None: no reservation (the account's unreserved pool); 0 throttles every invocation.
    reserved_concurrency = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    tags = models.JSONField(default=dict, blank=True)  # {key: value}, not versioned
    # Recursive loop detection (PutFunctionRecursionConfig): "Terminate" stops a chain of
    # invocations of this function after 16 rounds; "Allow" lets it run on.
    recursive_loop = models.CharField(max_length=9, choices=RecursiveLoop.choices, default=RecursiveLoop.TERMINATE)
    # Days its log lines are kept (CloudWatch's retention values); None: never expire.
    log_retention_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_function_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return arns.function_arn(self.account.account_id, self.name)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


class Version(FunctionConfiguration):
    """An immutable snapshot of a function's code and configuration."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "number"], name="unique_version")]
        ordering = ["number"]


class Alias(models.Model):
    """A name for a version, optionally sending a weighted share of calls to a second one."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=128)
    function_version = models.CharField(max_length=16)  # "$LATEST" or a version number
    description = models.CharField(max_length=256, blank=True)
    # {"<version>": weight between 0 and 1}: that share of invocations goes to <version>.
    routing_config = models.JSONField(default=dict, blank=True)
    revision_id = models.UUIDField(default=uuid.uuid4)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="unique_alias_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return arns.qualified(self.function.arn, self.name)


class TestEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The user's own events and the shareable ones of the function's account."""
        return self.filter(models.Q(owner=user) | models.Q(shareable=True))


class TestEvent(models.Model):
    """A saved event for the Test tab: private to its owner or shareable in the account."""

    __test__ = False  # not a pytest test class, despite the name

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="test_events")
    name = models.CharField(max_length=25)
    body = models.TextField()  # the JSON as the user typed it
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="test_events")
    shareable = models.BooleanField(default=False)
    last_modified = models.DateTimeField(default=timezone.now)

    objects = TestEventQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="unique_test_event_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InvocationQuerySet(models.QuerySet):
    def recent(self):
        return self.order_by("-started")


class Invocation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # the function answered an error, crashed or timed out
        THROTTLED = "throttled"

    class Type(models.TextChoices):
        REQUEST_RESPONSE = "RequestResponse"
        EVENT = "Event"

    request_id = models.UUIDField(unique=True, default=uuid.uuid4)
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="invocations")
    qualifier = models.CharField(max_length=128, default="$LATEST")
    version = models.CharField(max_length=16, default="$LATEST")
    invocation_type = models.CharField(max_length=16, choices=Type.choices, default=Type.REQUEST_RESPONSE)
    source = models.CharField(max_length=32, default="api")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error_type = models.CharField(max_length=128, blank=True)
    started = models.DateTimeField(default=timezone.now)
    duration_ms = models.FloatField(null=True)
    billed_duration_ms = models.PositiveIntegerField(null=True)
    init_duration_ms = models.FloatField(null=True)
    memory_size = models.PositiveIntegerField(default=128)
    max_memory_used_mb = models.PositiveIntegerField(null=True)
    payload_size = models.PositiveIntegerField(default=0)
    response_size = models.PositiveIntegerField(default=0)
    # Asynchronous invocations keep their event until it is done, so a dead worker's
    # event can run again; attempts count the runs that reached the function.
    payload = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    log_stream_name = models.CharField(max_length=200, blank=True)
    response = models.TextField(blank=True)
    finished = models.DateTimeField(null=True)
    # Asynchronous events: when the event arrived (its age counts from here), and where
    # its invocation record went once it was done ("" while pending or when kept here).
    received = models.DateTimeField(default=timezone.now)
    # While queued: when its broker message is due. Long past that, the message was lost
    # (a broker restart without persistence, say) and the reaper sends it again.
    due = models.DateTimeField(null=True, blank=True)
    destination = models.CharField(max_length=256, blank=True)
    # An event that exhausted its retries or its age with no failure destination is kept
    # here, for the console's list of failed events, instead of being dropped.
    dead_lettered = models.BooleanField(default=False)
    # How many invocations of this function led here through destinations (and later
    # queues and topics): the recursive loop detector stops a chain at 16.
    chain_depth = models.PositiveSmallIntegerField(default=0)

    objects = InvocationQuerySet.as_manager()

    class Meta:
        # (function, status): the async queue bound counts a function's queued events on every Event call.
        indexes = [models.Index(fields=["function", "-started"]), models.Index(fields=["status"]),
                   models.Index(fields=["function", "status"])]


class LogEvent(models.Model):
    """One line of a function's log, as CloudWatch Logs would keep it."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="log_events")
    request_id = models.UUIDField(null=True, db_index=True)
    log_stream_name = models.CharField(max_length=200)
    timestamp = models.DateTimeField()
    sequence = models.PositiveIntegerField(default=0)
    message = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["function", "log_stream_name", "timestamp"])]
        ordering = ["timestamp", "sequence"]


class EventInvokeConfig(models.Model):
    """How a function's asynchronous events are retried, aged out and routed when done."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="event_invoke_configs")
    qualifier = models.CharField(max_length=128, default="$LATEST")
    maximum_retry_attempts = models.PositiveSmallIntegerField(default=DEFAULT_RETRIES)
    maximum_event_age = models.PositiveIntegerField(default=DEFAULT_MAX_AGE)  # seconds
    on_success = models.CharField(max_length=256, blank=True)  # a destination ARN
    on_failure = models.CharField(max_length=256, blank=True)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "qualifier"], name="unique_event_invoke_config")]


class ScheduleRule(models.Model):
    """An EventBridge-style rule that invokes a function on a rate() or cron() schedule."""

    class RuleState(models.TextChoices):
        ENABLED = "ENABLED"
        DISABLED = "DISABLED"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="schedule_rules")
    name = models.CharField(max_length=64)
    schedule_expression = models.CharField(max_length=256)
    description = models.CharField(max_length=512, blank=True)
    state = models.CharField(max_length=8, choices=RuleState.choices, default=RuleState.ENABLED)
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="schedule_rules")
    qualifier = models.CharField(max_length=128, blank=True)
    input = models.TextField(blank=True)  # constant JSON instead of the Scheduled Event
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="schedule_rule")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_schedule_rule_name")]
        ordering = ["name"]

    @property
    def arn(self) -> str:
        return arns.build_arn("events", f"rule/{self.name}", region=settings.LAMBDA_REGION,
                              account=self.account.account_id)


def new_access_key_id() -> str:
    # AWS's shape: AKIA and 16 characters of base32's alphabet.
    return "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


class FunctionPermission(models.Model):
    """One statement of a function's resource-based policy (AddPermission), for a qualifier.

    `statement` is the statement as GetPolicy shows it (Sid, Effect, Principal, Action,
    Resource, Condition); the qualifier is "" for the unqualified function's policy.
    """

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="permissions")
    qualifier = models.CharField(max_length=128, blank=True)
    statement_id = models.CharField(max_length=100)
    statement = models.JSONField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "qualifier", "statement_id"],
                                               name="unique_permission_statement")]
        ordering = ["created", "id"]


class AccessKey(models.Model):
    """A user's key pair for the Lambda API (SigV4); it acts for the user's account."""

    access_key_id = models.CharField(max_length=20, unique=True, default=new_access_key_id)
    # The secret access key (a string), encrypted at rest; the signer needs it in clear.
    secret = EncryptedJSONField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return self.access_key_id


def new_url_id() -> str:
    # AWS's function URL ids: 32 lowercase letters and digits.
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))


def new_api_id() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))


class FunctionUrlConfig(models.Model):
    """A function URL: an HTTP endpoint that invokes the function (or one of its aliases)."""

    class AuthType(models.TextChoices):
        NONE = "NONE"
        AWS_IAM = "AWS_IAM"

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="url_configs")
    qualifier = models.CharField(max_length=128, blank=True)  # "" (unqualified) or an alias name
    url_id = models.CharField(max_length=32, unique=True, default=new_url_id)
    auth_type = models.CharField(max_length=8, choices=AuthType.choices, default=AuthType.NONE)
    # {AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge, AllowCredentials}; {} is no CORS.
    cors = models.JSONField(default=dict, blank=True)
    invoke_mode = models.CharField(max_length=16, default="BUFFERED")
    created = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "qualifier"], name="unique_function_url")]

    @property
    def function_arn(self) -> str:
        return arns.qualified(self.function.arn, self.qualifier)

    @property
    def hostname(self) -> str:
        return endpoints.function_url_host(self.url_id)

    @property
    def path(self) -> str:
        return f"/lambda-url/{self.url_id}/"

    @property
    def url(self) -> str:
        """The URL handed out: on the trigger listener, never the console's origin."""
        return endpoints.function_url(self.url_id)


class HttpApi(models.Model):
    """An API Gateway HTTP API: routes, each integrated with a function, on one $default stage."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="http_apis")
    api_id = models.CharField(max_length=10, unique=True, default=new_api_id)
    name = models.CharField(max_length=128)
    description = models.CharField(max_length=1024, blank=True)
    cors = models.JSONField(default=dict, blank=True)  # the same keys as a function URL's
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        return f"/http-api/{self.api_id}/"

    @property
    def url(self) -> str:
        """The invoke URL handed out: on the trigger listener, never the console's origin."""
        return endpoints.http_api_url(self.api_id)


class HttpRoute(models.Model):
    """A route of an HTTP API ("GET /items/{id}", "ANY /{proxy+}", "$default") and its function."""

    api = models.ForeignKey(HttpApi, on_delete=models.CASCADE, related_name="routes")
    route_id = models.CharField(max_length=10, default=new_api_id)
    route_key = models.CharField(max_length=512)
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="http_routes")
    qualifier = models.CharField(max_length=128, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api", "route_key"], name="unique_http_route")]
        ordering = ["route_key"]

    def __str__(self) -> str:
        return self.route_key

"""Forms of the console. They check the shape of the input; the services hold the rules."""
from __future__ import annotations

import json

from django import forms

from . import validators
from .errors import LambdaError
from .iam.forms import ExecutionRoleForm
from .limits import AGE_RANGE, DEFAULT_MAX_AGE, DEFAULT_RETRIES
from .models import Runtime
from .services.blueprints import BLUEPRINTS
from .services.logs import LOG_RETENTION_CHOICES
from .services.monitoring import PERIODS
from .services.wizard import ARCHITECTURES

# The services name fields as the Lambda API does; forms name them in snake case.
API_FIELDS = {
    "FunctionName": "function_name", "Runtime": "runtime", "Handler": "handler", "MemorySize": "memory_size",
    "Timeout": "timeout", "EphemeralStorage": "ephemeral_storage", "Description": "description",
    "Environment": "environment", "ZipFile": "zip_file", "ReservedConcurrentExecutions": "reserved_concurrency",
    "ImageUri": "image_uri", "LogRetentionInDays": "log_retention_days", "Role": "existing_role",
}


def add_service_error(form: forms.Form, error: LambdaError) -> None:
    """Show a service's error beside the field it is about, or above the form."""
    field = API_FIELDS.get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


RUNTIME_CHOICES = Runtime.choices
ARCHITECTURE_CHOICES = [(a, a) for a in ARCHITECTURES]


class FunctionNameField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=64, label="Function name", **kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and not validators.FUNCTION_NAME_RE.match(value):
            raise forms.ValidationError(
                "Function name must be 1 to 64 characters: letters, numbers, hyphens or underscores.")


class CreateFunctionForm(ExecutionRoleForm):  # its execution_role and existing_role fields too
    METHODS = [("scratch", "Author from scratch"), ("blueprint", "Use a blueprint"), ("image", "Container image")]

    method = forms.ChoiceField(choices=METHODS, initial="scratch", widget=forms.RadioSelect)
    function_name = FunctionNameField()
    runtime = forms.ChoiceField(choices=RUNTIME_CHOICES, initial="python3.11", required=False, label="Runtime")
    architecture = forms.ChoiceField(choices=ARCHITECTURE_CHOICES, initial="x86_64", widget=forms.RadioSelect,
                                     label="Architecture")
    blueprint = forms.ChoiceField(choices=[("", "")] + [(k, bp.title) for k, bp in BLUEPRINTS.items()],
                                  required=False, label="Blueprint")
    image_uri = forms.CharField(max_length=256, required=False, label="Container image URI")
    memory_size = forms.IntegerField(initial=128, label="Memory (MB)", min_value=validators.MEMORY_RANGE[0],
                                     max_value=validators.MEMORY_RANGE[1])
    timeout = forms.IntegerField(initial=3, label="Timeout (seconds)", min_value=validators.TIMEOUT_RANGE[0],
                                 max_value=validators.TIMEOUT_RANGE[1])
    description = forms.CharField(max_length=256, required=False, label="Description")

    def clean(self) -> dict:
        data = super().clean()
        method = data.get("method")
        if method == "scratch" and not data.get("runtime"):
            self.add_error("runtime", "Choose a runtime.")
        if method == "blueprint" and not data.get("blueprint"):
            self.add_error("blueprint", "Choose a blueprint.")
        if method == "image" and not data.get("image_uri"):
            self.add_error("image_uri", "Enter the name of a local container image.")
        return data


class RuntimeSettingsForm(forms.Form):
    runtime = forms.ChoiceField(choices=RUNTIME_CHOICES, label="Runtime")
    handler = forms.CharField(max_length=128, label="Handler")


class UploadZipForm(forms.Form):
    zip_file = forms.FileField(label=".zip file")


class TestEventForm(forms.Form):
    name = forms.CharField(max_length=25, label="Event name")
    body = forms.CharField(widget=forms.Textarea, required=False, label="Event JSON", strip=False)
    shareable = forms.BooleanField(required=False, label="Shareable")


class InvokeForm(forms.Form):
    body = forms.CharField(required=False, strip=False)
    event = forms.CharField(required=False, max_length=25)  # a saved event's name instead of a body
    qualifier = forms.CharField(required=False, max_length=128)


class GeneralConfigurationForm(forms.Form):
    description = forms.CharField(max_length=256, required=False, label="Description")
    memory_size = forms.IntegerField(label="Memory (MB)")
    ephemeral_storage = forms.IntegerField(label="Ephemeral storage (MB)")
    timeout = forms.IntegerField(label="Timeout (seconds)")

    def clean_memory_size(self) -> int:
        return _checked(validators.validate_memory, self.cleaned_data["memory_size"])

    def clean_ephemeral_storage(self) -> int:
        return _checked(validators.validate_ephemeral_storage, self.cleaned_data["ephemeral_storage"])

    def clean_timeout(self) -> int:
        return _checked(validators.validate_timeout, self.cleaned_data["timeout"])


def _checked(validator, value):
    try:
        return validator(value)
    except LambdaError as exc:
        raise forms.ValidationError(exc.message)


class KeyValueForm(forms.Form):
    """Pairs posted as key_0/value_0, key_1/value_1, ... (rows may be added in the browser)."""

    MAX_ROWS = 100
    label = "Environment variables"

    def __init__(self, data=None, initial_pairs: dict[str, str] | None = None) -> None:
        super().__init__(data)
        self.pairs: list[tuple[str, str]] = list((initial_pairs or {}).items())
        if data is not None:
            self.pairs = []
            for index in range(self.MAX_ROWS):
                key, value = data.get(f"key_{index}"), data.get(f"value_{index}")
                if key is None and value is None:
                    continue
                if (key or "").strip() or value:
                    self.pairs.append(((key or "").strip(), value or ""))

    def clean(self) -> dict:
        seen: set[str] = set()
        for key, _ in self.pairs:
            if not key:
                raise forms.ValidationError("Every value needs a key.")
            if key in seen:
                raise forms.ValidationError(f"The key {key} appears twice.")
            seen.add(key)
        self.cleaned_data["pairs"] = dict(self.pairs)
        return self.cleaned_data


class ConcurrencyForm(forms.Form):
    CHOICES = [("unreserved", "Use unreserved account concurrency"), ("reserved", "Reserve concurrency")]
    mode = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect, label="Concurrency")
    reserved_concurrency = forms.IntegerField(required=False, min_value=0, label="Reserved concurrency")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") == "reserved" and data.get("reserved_concurrency") is None:
            self.add_error("reserved_concurrency", "Enter the number of concurrent executions to reserve.")
        return data


class LogRetentionForm(forms.Form):
    # A free string behind a select: the service's validator refuses anything off the list
    # with CloudWatch's message, for the console and any other caller alike.
    log_retention_days = forms.CharField(required=False, max_length=16, label="Log retention",
                                         widget=forms.Select(choices=LOG_RETENTION_CHOICES))


class RecursionForm(forms.Form):
    CHOICES = [("Terminate", "Terminate recursive loops"), ("Allow", "Allow recursive loops")]
    recursive_loop = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect, label="Recursive loop detection")


class PublishVersionForm(forms.Form):
    description = forms.CharField(max_length=256, required=False, label="Version description")


class AliasForm(forms.Form):
    name = forms.CharField(max_length=128, label="Name")
    description = forms.CharField(max_length=256, required=False, label="Description")
    function_version = forms.CharField(max_length=16, label="Version")
    additional_version = forms.CharField(max_length=16, required=False, label="Additional version")
    weight = forms.IntegerField(required=False, min_value=0, max_value=100, label="Weight (%)")

    def routing(self) -> dict[str, float]:
        extra = self.cleaned_data.get("additional_version")
        if not extra:
            return {}
        return {extra: (self.cleaned_data.get("weight") or 0) / 100}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=[(p, p) for p in PERIODS], required=False)


class LogSearchForm(forms.Form):
    stream = forms.CharField(required=False, max_length=200, label="Log stream")
    q = forms.CharField(required=False, max_length=200, label="Filter events")
    request_id = forms.CharField(required=False, max_length=36, label="Request ID")
    page = forms.IntegerField(required=False, min_value=1)


def pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except (ValueError, TypeError):
        return text


# --- Triggers, destinations, function URLs, asynchronous invocation ---------------------------

def add_mapped_error(form: forms.Form, error: LambdaError, fields: dict[str, str]) -> None:
    """A service's error beside the form field its API field maps to (else above the form)."""
    field = fields.get(error.field or "")
    form.add_error(field if field in form.fields else None, error.message)


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class AddTriggerForm(forms.Form):
    SOURCES = [("api-gateway", "API Gateway"), ("eventbridge", "EventBridge (CloudWatch Events)"), ("s3", "S3")]
    # The S3 event types a Lambda trigger takes, named as AWS's console names them.
    S3_EVENTS = [("s3:ObjectCreated:*", "All object create events"), ("s3:ObjectCreated:Put", "PUT"),
                 ("s3:ObjectCreated:Post", "POST"), ("s3:ObjectCreated:Copy", "COPY"),
                 ("s3:ObjectCreated:CompleteMultipartUpload", "Multipart upload completed"),
                 ("s3:ObjectRemoved:*", "All object delete events"), ("s3:ObjectRemoved:Delete", "Permanently deleted"),
                 ("s3:ObjectRemoved:DeleteMarkerCreated", "Delete marker created")]
    API_CHOICES = [("new", "Create a new API"), ("existing", "Use an existing API")]

    source = forms.ChoiceField(choices=SOURCES, label="Trigger configuration", widget=forms.RadioSelect)
    api_choice = forms.ChoiceField(choices=API_CHOICES, initial="new", required=False, widget=forms.RadioSelect,
                                   label="Intent")
    api_name = forms.CharField(max_length=128, required=False, label="API name")
    api_id = forms.ChoiceField(choices=[], required=False, label="Existing API")
    route_key = forms.CharField(max_length=512, required=False, label="Route", initial="ANY /{proxy+}")
    rule_name = forms.CharField(max_length=64, required=False, label="Rule name")
    rule_description = forms.CharField(max_length=512, required=False, label="Rule description")
    schedule_expression = forms.CharField(max_length=256, required=False, label="Schedule expression")
    input = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), strip=False,
                            label="Constant input (JSON text) - optional")
    enabled = forms.BooleanField(required=False, initial=True, label="Enable trigger")
    bucket = forms.ChoiceField(choices=[], required=False, label="Bucket")
    s3_events = forms.MultipleChoiceField(choices=S3_EVENTS, required=False, widget=forms.CheckboxSelectMultiple,
                                          label="Event types")
    prefix = forms.CharField(max_length=1024, required=False, strip=False, label="Prefix - optional")
    suffix = forms.CharField(max_length=1024, required=False, strip=False, label="Suffix - optional")
    recursion_ack = forms.BooleanField(
        required=False, label="I acknowledge that using the same S3 bucket for both input and output is not "
                              "recommended and that this configuration can cause recursive invocations, increased "
                              "Lambda usage, and increased costs.")

    # The services' API field names -> this form's fields.
    SERVICE_FIELDS = {"Name": "rule_name", "ScheduleExpression": "schedule_expression", "Input": "input",
                      "RouteKey": "route_key", "ApiId": "api_id", "Target": "route_key"}
    # S3's ArgumentName of a refused notification configuration -> this form's fields.
    S3_FIELDS = {"Event": "s3_events", "prefix": "prefix", "suffix": "suffix", "FilterRule": "prefix"}

    def __init__(self, *args, apis=(), buckets=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["api_id"].choices = [("", "Choose an API")] + [(a.api_id, f"{a.name} ({a.api_id})")
                                                                   for a in apis]
        self.fields["bucket"].choices = [("", "Choose a bucket")] + [(b.name, b.name) for b in buckets]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("source") == "api-gateway":
            if data.get("api_choice") == "existing" and not data.get("api_id"):
                self.add_error("api_id", "Choose an API.")
            if data.get("api_choice") != "existing" and not data.get("api_name", "").strip():
                self.add_error("api_name", "Enter a name for the new API.")
            if not data.get("route_key", "").strip():
                self.add_error("route_key", "Enter a route, for example GET /items/{id} or ANY /{proxy+}.")
        elif data.get("source") == "eventbridge":
            if not data.get("rule_name"):
                self.add_error("rule_name", "Enter a rule name.")
            if not data.get("schedule_expression", "").strip():
                self.add_error("schedule_expression", "Enter a schedule expression, for example rate(5 minutes).")
        elif data.get("source") == "s3":
            if not data.get("bucket"):
                self.add_error("bucket", "Choose a bucket.")
            if not data.get("s3_events"):
                self.add_error("s3_events", "Choose at least one event type.")
            if not data.get("recursion_ack"):
                self.add_error("recursion_ack", "Acknowledge the risk of recursive invocations to add the trigger.")
        return data


class DestinationForm(forms.Form):
    CONDITIONS = [("OnSuccess", "On success"), ("OnFailure", "On failure")]
    TYPES = [("lambda", "Lambda function")]

    condition = forms.ChoiceField(choices=CONDITIONS, widget=forms.RadioSelect, label="Condition")
    destination_type = forms.ChoiceField(choices=TYPES, initial="lambda", label="Destination type")
    destination = forms.ChoiceField(choices=[], label="Destination")

    def __init__(self, *args, functions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = [("", "Choose a function")] + [(f.arn, f.name) for f in functions]


class FunctionUrlForm(forms.Form):
    AUTH_TYPES = [("AWS_IAM", "AWS_IAM"), ("NONE", "NONE")]

    auth_type = forms.ChoiceField(choices=AUTH_TYPES, initial="AWS_IAM", widget=forms.RadioSelect,
                                  label="Auth type")
    cors = forms.BooleanField(required=False, label="Configure cross-origin resource sharing (CORS)")
    allow_origins = forms.CharField(required=False, initial="*", label="Allow origin")
    allow_headers = forms.CharField(required=False, label="Allow headers")
    allow_methods = forms.CharField(required=False, initial="*", label="Allow methods")
    expose_headers = forms.CharField(required=False, label="Expose headers")
    max_age = forms.IntegerField(required=False, min_value=0, max_value=86400, label="Max age (seconds)")
    allow_credentials = forms.BooleanField(required=False, label="Allow credentials")

    @classmethod
    def initial_for(cls, config) -> dict:
        cors = config.cors or {}
        return {"auth_type": config.auth_type, "cors": bool(cors),
                "allow_origins": ", ".join(cors.get("AllowOrigins", [])),
                "allow_headers": ", ".join(cors.get("AllowHeaders", [])),
                "allow_methods": ", ".join(cors.get("AllowMethods", [])),
                "expose_headers": ", ".join(cors.get("ExposeHeaders", [])),
                "max_age": cors.get("MaxAge"), "allow_credentials": cors.get("AllowCredentials", False)}

    def cors_config(self) -> dict:
        data = self.cleaned_data
        if not data.get("cors"):
            return {}
        cors: dict = {}
        for field, key in (("allow_origins", "AllowOrigins"), ("allow_headers", "AllowHeaders"),
                           ("allow_methods", "AllowMethods"), ("expose_headers", "ExposeHeaders")):
            if values := _comma_list(data.get(field, "")):
                cors[key] = values
        if data.get("max_age") is not None:
            cors["MaxAge"] = data["max_age"]
        if data.get("allow_credentials"):
            cors["AllowCredentials"] = True
        return cors


class AsyncConfigForm(forms.Form):
    RETRIES = [(0, "0"), (1, "1"), (2, "2")]

    maximum_event_age = forms.IntegerField(min_value=AGE_RANGE[0], max_value=AGE_RANGE[1], initial=DEFAULT_MAX_AGE,
                                           label="Maximum age of event (seconds)")
    maximum_retry_attempts = forms.TypedChoiceField(choices=RETRIES, coerce=int, initial=DEFAULT_RETRIES,
                                                    label="Retry attempts")
    on_success = forms.ChoiceField(choices=[], required=False, label="On-success destination")
    on_failure = forms.ChoiceField(choices=[], required=False, label="On-failure destination")

    SERVICE_FIELDS = {"MaximumEventAgeInSeconds": "maximum_event_age",
                      "MaximumRetryAttempts": "maximum_retry_attempts",
                      "DestinationConfig.OnSuccess": "on_success", "DestinationConfig.OnFailure": "on_failure"}

    def __init__(self, *args, functions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "None")] + [(f.arn, f.name) for f in functions]
        self.fields["on_success"].choices = choices
        self.fields["on_failure"].choices = choices


class RuleStateForm(forms.Form):
    state = forms.ChoiceField(choices=[("enable", "Enable"), ("disable", "Disable")])

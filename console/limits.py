"""Lambda's quotas, each defined once.

The values are AWS's, from "Lambda quotas"
(docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) unless a comment says
otherwise. Plain constants: the executor, the API, the forms and the triggers import them.
"""
from __future__ import annotations

KB = 1024
MB = 1024 * KB
GB = 1024 * MB

# Invocation payloads: a synchronous request and its response, and an asynchronous event.
SYNC_PAYLOAD_LIMIT = 6 * MB
ASYNC_PAYLOAD_LIMIT = 256 * KB

# Function configuration, as (lowest, highest).
MEMORY_RANGE = (128, 10240)  # MB
TIMEOUT_RANGE = (1, 900)  # seconds
EPHEMERAL_RANGE = (512, 10240)  # MB of /tmp
ENVIRONMENT_LIMIT_BYTES = 4 * KB  # every variable's name and value together

# Deployment packages and code storage.
MAX_ZIP_BYTES = 50 * MB  # a direct upload
MAX_UNZIPPED_BYTES = 250 * MB
CODE_STORAGE_LIMIT = 75 * GB  # per account: every function's $LATEST and versions
INLINE_EDIT_LIMIT = 3 * MB  # the console's code editor opens packages up to this size

# Asynchronous invocation (PutFunctionEventInvokeConfig); the highest value is the default.
RETRY_RANGE = (0, 2)
AGE_RANGE = (60, 21600)  # seconds
DEFAULT_RETRIES = RETRY_RANGE[1]
DEFAULT_MAX_AGE = AGE_RANGE[1]

# CloudWatch Logs: one log event, message and overhead (docs.aws.amazon.com/AmazonCloudWatch/
# latest/logs/cloudwatch_limits_cwl.html).
LOG_EVENT_BYTES = 256 * KB

"""Starter code: the default for each runtime, and the blueprints of the create wizard."""
from __future__ import annotations

from dataclasses import dataclass, field

PYTHON_STARTER = '''import json


def lambda_handler(event, context):
    # TODO implement
    return {
        "statusCode": 200,
        "body": json.dumps("Hello from Lambda!")
    }
'''

NODE_STARTER = '''export const handler = async (event) => {
  // TODO implement
  const response = {
    statusCode: 200,
    body: JSON.stringify('Hello from Lambda!'),
  };
  return response;
};
'''

PROVIDED_BOOTSTRAP = '''#!/bin/sh
# A custom runtime: poll the Runtime API for events and answer each one.
set -eu
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  echo "Received event: $EVENT_DATA"
  RESPONSE="{\\"statusCode\\": 200, \\"body\\": \\"Hello from a custom runtime!\\"}"
  curl -sS -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" > /dev/null
  rm -f "$HEADERS"
done
'''


@dataclass(frozen=True)
class Starter:
    runtime: str
    handler: str
    files: dict[str, str]
    executable: tuple[str, ...] = ()


STARTERS: dict[str, Starter] = {
    "python3.11": Starter("python3.11", "lambda_function.lambda_handler", {"lambda_function.py": PYTHON_STARTER}),
    "nodejs18.x": Starter("nodejs18.x", "index.handler", {"index.mjs": NODE_STARTER}),
    "provided.al2023": Starter("provided.al2023", "function.handler", {"bootstrap": PROVIDED_BOOTSTRAP},
                               executable=("bootstrap",)),
}


@dataclass(frozen=True)
class Blueprint:
    key: str
    title: str
    description: str
    runtime: str
    handler: str
    files: dict[str, str]
    test_event: str = "hello-world"  # the event template that exercises it
    tags: tuple[str, ...] = field(default=())
    packages: tuple[str, ...] = ()  # names in blueprint_packages.PACKAGES, zipped beside the code
    needs: tuple[str, ...] = ()  # what the user sets up for it to work, shown when it is chosen
    memory_size: int | None = None  # presets the wizard offers (as the tutorial configures it)
    timeout: int | None = None


HELLO_PYTHON = '''import json

print("Loading function")


def lambda_handler(event, context):
    print("Received event: " + json.dumps(event, indent=2))
    print("value1 = " + event.get("key1", ""))
    print("value2 = " + event.get("key2", ""))
    print("value3 = " + event.get("key3", ""))
    return event.get("key1")  # Echo back the first key value
'''

HELLO_NODE = '''console.log('Loading function');

export const handler = async (event, context) => {
  console.log('Received event:', JSON.stringify(event, null, 2));
  console.log('value1 =', event.key1);
  console.log('value2 =', event.key2);
  console.log('value3 =', event.key3);
  return event.key1; // Echo back the first key value
};
'''

HTTP_API_PYTHON = '''import base64
import json


def lambda_handler(event, context):
    """Answer an API Gateway HTTP API (payload format 2.0) or function URL request."""
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath", "/")
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    print(f"{method} {path}")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({
            "message": f"Hello from {context.function_name}",
            "method": method,
            "path": path,
            "query": event.get("queryStringParameters") or {},
            "body": body,
        }),
    }
'''

HTTP_API_NODE = '''export const handler = async (event, context) => {
  // An API Gateway HTTP API (payload format 2.0) or function URL request.
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? '/';
  let body = event.body ?? '';
  if (event.isBase64Encoded) body = Buffer.from(body, 'base64').toString();
  console.log(`${method} ${path}`);
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: `Hello from ${context.functionName}`, method, path, body }),
  };
};
'''

SCHEDULED_PYTHON = '''from datetime import datetime, timezone


def lambda_handler(event, context):
    """Run on an EventBridge schedule (rate or cron expression)."""
    now = datetime.now(timezone.utc).isoformat()
    print(f"Scheduled job started at {now}; event time {event.get('time')}")
    for rule in event.get("resources", []):
        print(f"Triggered by {rule}")
    # Do the periodic work here.
    return {"ranAt": now}
'''

QUEUE_PYTHON = '''import json


def process(record):
    """Handle one message; raise to have it retried."""
    body = record["body"]
    print(f"Processing message {record['messageId']}: {body}")
    if body == "fail":
        raise ValueError("cannot process this message")


def lambda_handler(event, context):
    """Process an SQS batch; report failed messages so only they are retried."""
    failures = []
    for record in event.get("Records", []):
        try:
            process(record)
        except Exception as exc:
            print(f"Message {record['messageId']} failed: {exc}")
            failures.append({"itemIdentifier": record["messageId"]})
    print(f"Processed {len(event.get('Records', []))} messages, {len(failures)} failed")
    return {"batchItemFailures": failures}
'''

# AWS's own handler, unchanged: the Lambda developer guide's "Tutorial: Using an Amazon S3
# trigger to create thumbnail images" (docs.aws.amazon.com/lambda/latest/dg/with-s3-tutorial.html,
# Python, lambda_function.py), sample code under the MIT No Attribution license.
THUMBNAIL_PYTHON = '''import boto3
import os
import sys
import uuid
from urllib.parse import unquote_plus
from PIL import Image
import PIL.Image

s3_client = boto3.client('s3')

def resize_image(image_path, resized_path):
  with Image.open(image_path) as image:
      image.thumbnail(tuple(x / 2 for x in image.size))
      image.save(resized_path)

def lambda_handler(event, context):
  for record in event['Records']:
      bucket = record['s3']['bucket']['name']
      key = unquote_plus(record['s3']['object']['key'])
      tmpkey = key.replace('/', '')
      download_path = '/tmp/{}{}'.format(uuid.uuid4(), tmpkey)
      upload_path = '/tmp/resized-{}'.format(tmpkey)
      s3_client.download_file(bucket, key, download_path)
      resize_image(download_path, upload_path)
      s3_client.upload_file(upload_path, '{}-resized'.format(bucket), key)
'''

THUMBNAIL_NEEDS = (
    "A source bucket for the images, and a target bucket named after it with -resized appended "
    "(for a source bucket photos, photos-resized): the function writes each thumbnail there under "
    "the same key. Never make the source bucket the target, or each thumbnail triggers the function again.",
    "An execution role that allows s3:GetObject on arn:aws:s3:::SOURCE/* and s3:PutObject on "
    "arn:aws:s3:::SOURCE-resized/*: create it on the IAM pages, then choose it under Permissions, "
    "Use an existing role.",
    "Once the function exists, Add trigger, S3: the source bucket, event type All object create events.",
)

BLUEPRINTS: dict[str, Blueprint] = {bp.key: bp for bp in (
    Blueprint("hello-world-python", "Hello world function", "A starter function that logs the event it receives.",
              "python3.11", "lambda_function.lambda_handler", {"lambda_function.py": HELLO_PYTHON}),
    Blueprint("hello-world-nodejs", "Hello world function", "A starter function that logs the event it receives.",
              "nodejs18.x", "index.handler", {"index.mjs": HELLO_NODE}),
    Blueprint("http-api-python", "HTTP API handler", "Answer API Gateway HTTP API and function URL requests.",
              "python3.11", "lambda_function.lambda_handler", {"lambda_function.py": HTTP_API_PYTHON},
              test_event="apigateway-http-api"),
    Blueprint("http-api-nodejs", "HTTP API handler", "Answer API Gateway HTTP API and function URL requests.",
              "nodejs18.x", "index.handler", {"index.mjs": HTTP_API_NODE}, test_event="apigateway-http-api"),
    Blueprint("scheduled-job-python", "Scheduled job", "A job run by an EventBridge schedule.",
              "python3.11", "lambda_function.lambda_handler", {"lambda_function.py": SCHEDULED_PYTHON},
              test_event="eventbridge-scheduled"),
    Blueprint("sqs-batch-python", "Queue batch processor",
              "Process SQS message batches, reporting partial batch failures.",
              "python3.11", "lambda_function.lambda_handler", {"lambda_function.py": QUEUE_PYTHON},
              test_event="sqs"),
    Blueprint("s3-thumbnail-python", "Create thumbnails of uploaded images",
              "An Amazon S3 trigger that makes a half-size copy of each image uploaded to a bucket, with Pillow.",
              "python3.11", "lambda_function.lambda_handler", {"lambda_function.py": THUMBNAIL_PYTHON},
              test_event="s3-put", packages=("pillow",), needs=THUMBNAIL_NEEDS, memory_size=1024, timeout=10),
)}

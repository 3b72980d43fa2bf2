"""Which container images an account may run as an Image function.

On AWS an Image function names an image in Amazon ECR: the account's own repositories
(`<account-id>.dkr.ecr.<region>.amazonaws.com/<repository>`), in the function's Region; another
account's only when that account's repository policy grants it. Here images live on the
Docker engine, which every account shares, so the rule is kept explicitly: an account may
run an image of its own ECR-style repositories, or one under a repository prefix the
operator allows for everyone (LAMBDA_IMAGE_ALLOWED_PREFIXES), and the image must be there.
Everything else is refused, our runtime images and another account's tags included, even
when present on the engine: otherwise any account could run any other's code.

Errors follow AWS's wording for CreateFunction and UpdateFunctionCode (400,
InvalidParameterValueException): "Source image ... is not valid. Provide a valid source
image." for a name that is not an ECR image (as AWS answers a bare name), "... does not
exist" for a missing one, and "Lambda does not have permission to access the ECR image"
for another account's (AWS re:Post knowledge center, "lambda-ecr-image"; AWS itself answers
that one with HTTP 403). When the Docker engine cannot be asked, the answer is AWS's
ServiceException (500, worth a retry), never "does not exist".
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings

from executor import containers

from ..errors import InvalidParameterValue, ServiceError
from ..models import Account

log = logging.getLogger(__name__)

# A Docker image reference: [registry/]repository[:tag][@digest], lowercase repository.
_REFERENCE_RE = re.compile(
    r"^(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+(?=/))?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")
_ECR_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/.+$")
MAX_LENGTH = 256  # the model's column


@dataclass(frozen=True)
class ImageRef:
    uri: str
    repository: str


def parse_image_uri(image_uri: object, field: str = "ImageUri") -> ImageRef:
    if not isinstance(image_uri, str) or not image_uri.strip():
        raise InvalidParameterValue(f"{field} is required for an Image function.", field=field)
    uri = image_uri.strip()
    match = _REFERENCE_RE.match(uri) if len(uri) <= MAX_LENGTH else None
    if match is None:
        raise InvalidParameterValue(f"Source image {uri} is not valid. Provide a valid source image.", field=field)
    return ImageRef(uri, match["repository"])


def image_check(account: Account, image_uri: object, field: str = "ImageUri") -> str:
    """The image URI, cleaned, if `account` may run it and the Docker engine has it."""
    ref = parse_image_uri(image_uri, field)
    ecr = _ECR_RE.match(ref.repository)
    allowed = any(ref.repository.startswith(prefix) for prefix in settings.LAMBDA_IMAGE_ALLOWED_PREFIXES)
    if not allowed:
        if ecr is None:
            raise InvalidParameterValue(
                f"Source image {ref.uri} is not valid. Provide a valid source image: an image of your account's "
                f"repositories ({account.account_id}.dkr.ecr.{settings.LAMBDA_REGION}.amazonaws.com/...) or one "
                "under a repository this server allows.", field=field)
        if ecr["account"] != account.account_id:
            raise InvalidParameterValue(
                f"Lambda does not have permission to access the ECR image {ref.uri}. Check the ECR permissions.",
                field=field)
        if ecr["region"] != settings.LAMBDA_REGION:
            raise InvalidParameterValue(
                f"Source image {ref.uri} is not valid. The ECR repository must be in the function's Region "
                f"({settings.LAMBDA_REGION}).", field=field)
    try:
        present = containers.image_exists(ref.uri)
    except containers.EngineUnavailable as exc:
        log.warning("cannot check image %s: %s", ref.uri, exc)
        raise ServiceError(f"Lambda could not check the source image {ref.uri}: its container engine does not "
                           "answer. Try again later.", field=field)
    if not present:
        raise InvalidParameterValue(f"Source image {ref.uri} does not exist. Provide a valid source image.",
                                    field=field)
    return ref.uri

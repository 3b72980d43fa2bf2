"""S3's errors, in S3's XML (S3 API reference, "Error responses"; codes from its "List of error codes").

<Error><Code>NoSuchKey</Code><Message>...</Message><Key>...</Key><RequestId>...</RequestId></Error>
HEAD requests get the status and headers only, as S3 answers them.
"""
from __future__ import annotations

from xml.sax.saxutils import escape


class S3Error(Exception):
    code = "InternalError"
    status = 500
    message = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, *, status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None, **fields: str) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.fields = fields  # extra elements S3 adds: BucketName, Key, Resource, ArgumentName...

    def xml(self, request_id: str) -> bytes:
        extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in self.fields.items())
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>").encode()


def error(code: str, status: int, default_message: str) -> type[S3Error]:
    return type(code, (S3Error,), {"code": code, "status": status, "message": default_message})


AccessDenied = error("AccessDenied", 403, "Access Denied")
BadDigest = error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
BucketAlreadyExists = error("BucketAlreadyExists", 409, "The requested bucket name is not available. The bucket "
                            "namespace is shared by all users of the system. Please select a different name and "
                            "try again.")
BucketAlreadyOwnedByYou = error("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket "
                                "succeeded and you already own it.")
BucketNotEmpty = error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
EntityTooLarge = error("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
EntityTooSmall = error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
ExpiredToken = error("ExpiredToken", 400, "The provided token has expired.")
IncompleteBody = error("IncompleteBody", 400, "You did not provide the number of bytes specified by the "
                       "Content-Length HTTP header.")
InvalidAccessKeyId = error("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our "
                           "records.")
InvalidArgument = error("InvalidArgument", 400, "Invalid Argument")
InvalidBucketName = error("InvalidBucketName", 400, "The specified bucket is not valid.")
InvalidDigest = error("InvalidDigest", 400, "The Content-MD5 you specified was invalid.")
InvalidPart = error("InvalidPart", 400, "One or more of the specified parts could not be found.  The part may "
                    "not have been uploaded, or the specified entity tag may not match the part's entity tag.")
InvalidPartOrder = error("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be "
                         "ordered by part number.")
InvalidRange = error("InvalidRange", 416, "The requested range is not satisfiable")
InvalidRequest = error("InvalidRequest", 400, "Invalid Request")
InvalidToken = error("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
KeyTooLongError = error("KeyTooLongError", 400, "Your key is too long")
MalformedXML = error("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against "
                     "our published schema")
MethodNotAllowed = error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
MissingContentLength = error("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
NoSuchBucket = error("NoSuchBucket", 404, "The specified bucket does not exist")
NoSuchKey = error("NoSuchKey", 404, "The specified key does not exist.")
NoSuchUpload = error("NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or "
                     "the upload may have been aborted or completed.")
NoSuchTagSet = error("NoSuchTagSet", 404, "The TagSet does not exist")
NotImplementedError_ = error("NotImplemented", 501, "A header you provided implies functionality that is not "
                             "implemented")
NotModified = error("NotModified", 304, "Not Modified")
PreconditionFailed = error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
RequestTimeTooSkewed = error("RequestTimeTooSkewed", 403, "The difference between the request time and the "
                             "current time is too large.")
SignatureDoesNotMatch = error("SignatureDoesNotMatch", 403, "The request signature we calculated does not match "
                              "the signature you provided. Check your key and signing method.")
XAmzContentSHA256Mismatch = error("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header "
                                  "does not match what was computed.")
AuthorizationHeaderMalformed = error("AuthorizationHeaderMalformed", 400, "The authorization header is malformed.")
InternalError_ = error("InternalError", 500, "We encountered an internal error. Please try again.")

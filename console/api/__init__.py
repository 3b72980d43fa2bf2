"""The AWS Lambda REST API (2015-03-31 and its later paths), signed with SigV4 access keys."""

"""S3 served at the one AWS endpoint: buckets, objects, multipart uploads, event notifications.

Layout: `models.py` (the metadata), `storage.py` (the bytes, behind Django's storage API),
`services/` (business rules, plain functions over models and storage), `wire/` (the REST-XML
protocol: request parsing, authentication, routing, XML and errors, as an ASGI app that
streams bodies), `ops/` (one module per group of operations: thin, async, protocol in and
out), `views/` (the console's pages).
"""

"""S3's REST-XML protocol at the one AWS endpoint, as an ASGI app that streams bodies (app.py)."""

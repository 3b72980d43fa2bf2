import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Static files are served by the app itself: the console is one process to run, on any
# private network, with nothing in front of it.
django_app = ASGIStaticFilesHandler(get_asgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402
from .fastpath import EndpointRouter, FastPathRouter  # noqa: E402
from .triggers.app import TriggerApp  # noqa: E402
from .websocket_origin import SameOriginValidator  # noqa: E402
from .s3.wire import daphne_io, header_case  # noqa: E402

header_case.install()  # S3's user metadata names stay lower case through Twisted
daphne_io.install()  # a large request body is read from Daphne's temporary file as the app asks

application = ProtocolTypeRouter({
    # The Lambda API is served ahead of Django's handler (fastpath.py); trigger paths answer 404.
    "http": FastPathRouter(django_app),
    # Only the console's own origin (scheme, host and port): not a function URL's page on another port.
    "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})

# Function URLs and HTTP APIs, on a listener of their own (Procfile `triggers`, LAMBDA_TRIGGER_PORT).
triggers_application = TriggerApp()

# The AWS endpoint of the functions' network (Procfile `endpoint`, LAMBDA_ENDPOINT_PORT on the
# bridge's gateway address): the AWS APIs only, never the console's pages or login.
endpoint_application = EndpointRouter()

from django.urls import path

from .consumers import LogConsumer

websocket_urlpatterns: list = [
    path("ws/functions/<str:name>/logs", LogConsumer.as_asgi()),
]

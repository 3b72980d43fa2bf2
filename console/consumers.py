"""Websocket consumers. They check who is asking, then only read and forward."""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import Function, Membership
from .realtime import log_group


@database_sync_to_async
def _owned_function_account(user, name: str) -> str | None:
    """The account id when `user` may see the function `name`, else None."""
    membership = Membership.objects.select_related("account").filter(user=user).first()
    if membership is None or not Function.objects.filter(account=membership.account, name=name).exists():
        return None
    return membership.account.account_id


class LogConsumer(AsyncJsonWebsocketConsumer):
    """Streams a function's log lines, from every invocation, as the executor publishes them."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        name = self.scope["url_route"]["kwargs"]["name"]
        account_id = None
        if user is not None and user.is_authenticated:
            account_id = await _owned_function_account(user, name)
        if account_id is None:
            # Not logged in, or another account's function: as if it did not exist.
            await self.close(code=4404)
            return
        self.group = log_group(account_id, name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """The viewer only listens; anything sent to it is ignored."""

    async def log_lines(self, event: dict) -> None:
        await self.send_json({"type": "lines", "lines": event["lines"]})

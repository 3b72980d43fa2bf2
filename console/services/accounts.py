"""Users and the accounts they act in."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction

from ..models import Account, Membership


def account_for_user(user: AbstractBaseUser) -> Account:
    """The user's account; a user made outside the console (createsuperuser) gets one on first use."""
    membership = Membership.objects.select_related("account").filter(user=user).first()
    if membership is not None:
        return membership.account
    with transaction.atomic():
        account = Account.objects.create(name=user.get_username())
        Membership.objects.create(user=user, account=account)
    return account


@transaction.atomic
def user_create(username: str, password: str, *, account: Account | None = None, superuser: bool = False) -> User:
    """A user with a password, in `account` or in a new account of their own."""
    if superuser:
        user = User.objects.create_superuser(username=username, password=password)
    else:
        user = User.objects.create_user(username=username, password=password)
    Membership.objects.create(user=user, account=account or Account.objects.create(name=username))
    return user

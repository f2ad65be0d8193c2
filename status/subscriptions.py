"""Subscribing, confirming and unsubscribing (double opt-in), and the signed links.

Links carry the subscriber's id signed with SECRET_KEY (``django.core.signing``), so
nothing secret is stored: a confirmation link lasts CONFIRM_DAYS, an unsubscribe link
as long as the subscription.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core import signing
from django.db import transaction
from django.utils import timezone

from agreements.models import Service
from status import tasks
from status.models import Subscriber

CONFIRM_DAYS = 7
_CONFIRM_SALT = "status.confirm"
_UNSUBSCRIBE_SALT = "status.unsubscribe"


def confirm_token(subscriber: Subscriber) -> str:
    return signing.dumps(subscriber.pk, salt=_CONFIRM_SALT, compress=False)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(str(subscriber.pk))


def from_confirm_token(token: str) -> Subscriber | None:
    """The subscriber of a confirmation link, or None if it is forged, expired or gone."""
    try:
        pk = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_DAYS * 86400)
    except signing.BadSignature:
        return None
    return Subscriber.objects.filter(pk=pk).first() if isinstance(pk, int) else None


def from_unsubscribe_token(token: str) -> Subscriber | None:
    try:
        pk = signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Subscriber.objects.filter(pk=int(pk)).first() if pk.isdigit() else None


@transaction.atomic
def subscribe(*, email: str, services: Iterable[Service]) -> Subscriber:
    """Register ``email`` for ``services`` (public ones; none means all) and email it a
    confirmation link. An unconfirmed address gets a new link (and the new choice); a
    confirmed one is left as it is and told it is subscribed already, with the link to
    leave: the person asking may not own the address."""
    chosen = [s for s in services if s.public]
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(email=email)
    if subscriber.confirmed_at is None:
        subscriber.all_services = not chosen
        subscriber.save(update_fields=["all_services"])
        subscriber.services.set(chosen)
    already = subscriber.confirmed_at is not None
    transaction.on_commit(lambda: tasks.send_confirmation.delay(subscriber.pk, already))
    return subscriber


def confirm(*, subscriber: Subscriber) -> None:
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])


def unsubscribe(*, subscriber: Subscriber) -> None:
    """Forget the address altogether."""
    subscriber.delete()

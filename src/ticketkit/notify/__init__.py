"""Notifications: the Notifier protocol, SMTP, webhook and callback notifiers, the outbox."""

from __future__ import annotations

from ._callback import CallbackNotifier
from ._notification import Notification, NotificationError, Notifier
from ._outbox import DeliveryReport, deliver_outbox
from ._smtp import SMTPNotifier
from ._templates import Templates
from ._webhook import WebhookNotifier, verify_signature

__all__ = [
    "CallbackNotifier",
    "DeliveryReport",
    "Notification",
    "NotificationError",
    "Notifier",
    "SMTPNotifier",
    "Templates",
    "WebhookNotifier",
    "deliver_outbox",
    "verify_signature",
]

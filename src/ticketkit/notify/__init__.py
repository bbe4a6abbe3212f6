"""Notifications: the Notifier protocol, SMTP, webhook and callback notifiers, the outbox."""

# Lazy while the modules are being written in parallel; made eager (with the
# names imported for type checkers) once they all exist.
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CallbackNotifier": "_callback",
    "DeliveryReport": "_outbox",
    "Notification": "_notification",
    "NotificationError": "_notification",
    "Notifier": "_notification",
    "SMTPNotifier": "_smtp",
    "Templates": "_templates",
    "WebhookNotifier": "_webhook",
    "deliver_outbox": "_outbox",
    "verify_signature": "_webhook",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)

"""Size and shape limits applied to every incoming message before it is trusted."""

from __future__ import annotations

import attrs

from ._errors import IntakeError

__all__ = ["MailLimits"]

_MIB = 1024 * 1024


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise IntakeError(
            f"MailLimits.{attribute.name} must be a positive whole number, got {value!r};"
            " pass e.g. MailLimits(max_message_bytes=10 * 1024 * 1024)"
        )


@attrs.frozen
class MailLimits:
    """What a message may contain at most; a message over any limit is refused.

    Sizes are in bytes: ``max_message_bytes`` for the raw message,
    ``max_attachment_bytes`` for one decoded attachment, ``max_header_bytes``
    for the top-level header block. ``max_parts`` counts every MIME part,
    ``max_depth`` bounds nesting of multiparts and attached messages.
    """

    max_message_bytes: int = attrs.field(default=25 * _MIB, validator=_positive)
    max_attachment_bytes: int = attrs.field(default=10 * _MIB, validator=_positive)
    max_attachments: int = attrs.field(default=50, validator=_positive)
    max_header_bytes: int = attrs.field(default=64 * 1024, validator=_positive)
    max_parts: int = attrs.field(default=200, validator=_positive)
    max_depth: int = attrs.field(default=10, validator=_positive)
    max_html_tags: int = attrs.field(default=100_000, validator=_positive)

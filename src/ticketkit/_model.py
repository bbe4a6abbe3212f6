"""The ticket and the things that hang off it: comments, attachments, links."""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Iterable, Mapping
from datetime import datetime

from attrs import field, frozen

from ._errors import ValidationError
from ._fields import FieldValue
from ._priority import Impact, Priority, Urgency
from ._text import parse_choice

__all__ = [
    "Attachment",
    "Comment",
    "Link",
    "LinkKind",
    "NewAttachment",
    "Ticket",
    "check_tag",
    "normalise_tags",
]

_TAG = re.compile(r"^[^\s,\x00-\x1f\x7f]{1,64}$")


def check_tag(value: object) -> str:
    """Tags are single words (no white space or commas), compared case-insensitively."""
    if not isinstance(value, str) or not _TAG.match(value.strip()):
        raise ValidationError(
            f"tag {value!r} is not valid; a tag is 1 to 64 characters with no white space, "
            "commas or control characters",
            field="tags",
        )
    return value.strip().lower()


def normalise_tags(values: Iterable[str]) -> frozenset[str]:
    if not isinstance(values, Iterable):
        raise ValidationError(f"tags must be a collection of strings, got {values!r}", field="tags")
    if isinstance(values, str):
        raise ValidationError(
            f"tags must be a collection of strings, not the single string {values!r}",
            field="tags",
        )
    return frozenset(check_tag(v) for v in values)


def freeze_fields(value: Mapping[str, FieldValue]) -> Mapping[str, FieldValue]:
    if isinstance(value, types.MappingProxyType):
        return value
    return types.MappingProxyType({k: value[k] for k in sorted(value)})


class LinkKind(enum.StrEnum):
    """How one ticket relates to another. Each kind has an inverse."""

    RELATES = "relates"
    DUPLICATES = "duplicates"
    DUPLICATED_BY = "duplicated_by"
    BLOCKS = "blocks"
    BLOCKED_BY = "blocked_by"
    PARENT_OF = "parent_of"
    CHILD_OF = "child_of"

    @property
    def inverse(self) -> LinkKind:
        return _INVERSE[self]

    @classmethod
    def parse(cls, value: object) -> LinkKind:
        return parse_choice(cls, value, "link kind", field="links")


_INVERSE = {
    LinkKind.RELATES: LinkKind.RELATES,
    LinkKind.DUPLICATES: LinkKind.DUPLICATED_BY,
    LinkKind.DUPLICATED_BY: LinkKind.DUPLICATES,
    LinkKind.BLOCKS: LinkKind.BLOCKED_BY,
    LinkKind.BLOCKED_BY: LinkKind.BLOCKS,
    LinkKind.PARENT_OF: LinkKind.CHILD_OF,
    LinkKind.CHILD_OF: LinkKind.PARENT_OF,
}


@frozen(order=True)
class Link:
    """``kind`` seen from the ticket that holds the link: ``Link(BLOCKS, "HD-7")``."""

    kind: LinkKind
    key: str


@frozen
class Ticket:
    """A ticket as it is at one version. Never mutated: changes produce a new one."""

    id: int
    key: str
    title: str
    description: str
    status: str
    priority: Priority
    reporter: str
    queue: str
    created: datetime
    updated: datetime
    version: int
    assignee: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    resolution: str | None = None
    tags: frozenset[str] = frozenset()
    fields: Mapping[str, FieldValue] = field(
        factory=lambda: types.MappingProxyType({}), converter=freeze_fields
    )
    watchers: frozenset[str] = frozenset()
    links: frozenset[Link] = frozenset()
    merged_into: str | None = None
    resolved_at: datetime | None = None
    #: The help desk the ticket belongs to: the isolation boundary of a multi-tenant host.
    #: Set when the ticket is opened and never changed.
    tenant: str = "default"
    #: The reporter's organisation (company) inside the tenant, if known.
    organisation: str | None = None

    def linked(self, kind: LinkKind | str) -> list[str]:
        """Keys of the tickets linked to this one by ``kind``, sorted."""
        wanted = LinkKind.parse(kind)
        return sorted(link.key for link in self.links if link.kind is wanted)


@frozen
class Comment:
    """A public reply (seen by the customer) or an internal note (agents only).

    A redacted comment keeps its place, author and time; its ``body`` was replaced
    and ``redacted_at``/``redacted_by`` say when and by whom.
    """

    id: int
    ticket_id: int
    ticket_key: str
    author: str
    body: str
    created: datetime
    internal: bool = False
    redacted_at: datetime | None = None
    redacted_by: str | None = None


@frozen
class Attachment:
    """What is known about an attached file; the store keeps its bytes."""

    id: int
    ticket_id: int
    ticket_key: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    created: datetime


def _size(content: object) -> str:
    try:
        return f"<{len(content)} bytes>"  # type: ignore[arg-type]
    except TypeError:
        return f"<{type(content).__name__}>"


@frozen
class NewAttachment:
    """A file to store along with a new ticket, a comment or a workflow action.

    ``Tracker.open(..., attachments=[NewAttachment("log.txt", data)])`` keeps the
    ticket (or comment) and every file together or not at all. ``media_type``
    ``None`` guesses the type from the file name. The tracker checks each file
    as :meth:`~ticketkit.Tracker.attach` does, before anything is written.
    """

    filename: str
    #: Shown by its size only: the bytes may be megabytes.
    content: bytes = field(repr=_size)
    media_type: str | None = None

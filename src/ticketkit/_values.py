"""JSON forms of ticket values, as kept in events and shown to front ends.

Events record old and new values in these forms so that any store can keep
them and any front end can show them; :func:`decode` turns them back when
history is replayed. Custom-field decimals and dates are tagged
(``{"$decimal": "1.50"}``, ``{"$date": "2026-03-01"}``) so that they survive a
round trip without the field definitions.

A redacted value (personal data removed from the history) is the marker
:data:`REDACTED`, ``{"$redacted": true}``, wherever the value was: an event's
``old`` or ``new``, a value of an ``opened`` event's snapshot, one custom field
in it. :func:`decode` reads the marker as the value a redacted field holds
(:func:`redacted_value`), so a history with redactions still replays.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

from ._errors import ValidationError
from ._fields import FieldValue
from ._model import Link, LinkKind
from ._priority import Impact, Priority, Urgency

__all__ = [
    "REDACTED",
    "REDACTED_TEXT",
    "decode",
    "decode_field_value",
    "encode",
    "encode_field_value",
    "is_redacted",
    "redacted_value",
]

JSON = Any
_MARK = "$redacted"


class _Marker(dict[str, bool]):
    """``{"$redacted": True}`` that cannot be changed; ``json.dumps`` writes it as a dict."""

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("ticketkit's REDACTED marker cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse


#: What replaces a redacted value in past events and ``opened`` snapshots. It equals
#: ``{"$redacted": True}`` (as stores read it back); test with :func:`is_redacted`.
REDACTED: Mapping[str, bool] = _Marker({_MARK: True})
#: The text a redacted title, description or reporter reads as.
REDACTED_TEXT = "[redacted]"


def is_redacted(data: JSON) -> bool:
    """Whether ``data`` (a JSON form) is the :data:`REDACTED` marker."""
    return type(data) in (dict, _Marker) and len(data) == 1 and data.get(_MARK) is True


def _not_personal(path: str) -> NoReturn:
    raise ValidationError(
        f"{path} holds no personal data and cannot be redacted; redact the title, "
        "description, reporter, assignee, resolution, organisation, tags, watchers, "
        "links or a custom field",
        field=path,
    )


def encode_field_value(value: FieldValue) -> JSON:
    """The JSON form of one custom-field value."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):  # pragma: no cover - refused by FieldDef.validate
        raise TypeError("custom fields hold dates, not datetimes")
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not a custom-field value: {value!r}")


def decode_field_value(data: JSON) -> FieldValue:
    """Inverse of :func:`encode_field_value`."""
    if isinstance(data, bool | int | str):
        return data
    if isinstance(data, list):
        return tuple(str(v) for v in data)
    if isinstance(data, dict) and len(data) == 1:
        if "$decimal" in data:
            return Decimal(data["$decimal"])
        if "$date" in data:
            return date.fromisoformat(data["$date"])
    raise ValidationError(f"not the JSON form of a custom-field value: {data!r}")


def _same(value: Any) -> JSON:
    return value


def _opt_str(data: JSON) -> str | None:
    return None if data is None else str(data)


def _opt(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else fn(value)


def _encode_links(links: frozenset[Link]) -> JSON:
    return [{"kind": link.kind.value, "key": link.key} for link in sorted(links)]


def _decode_links(data: JSON) -> frozenset[Link]:
    return frozenset(Link(LinkKind(item["kind"]), item["key"]) for item in data)


def _encode_fields(values: Mapping[str, FieldValue]) -> JSON:
    return {name: encode_field_value(values[name]) for name in sorted(values)}


def _decode_fields(data: JSON) -> dict[str, FieldValue]:
    return {
        name: decode_field_value(value) for name, value in data.items() if not is_redacted(value)
    }


_CODECS: dict[str, tuple[Callable[[Any], JSON], Callable[[JSON], Any]]] = {
    "title": (_same, str),
    "description": (_same, str),
    "status": (_same, str),
    "reporter": (_same, str),
    "queue": (_same, str),
    "key": (_same, str),
    "tenant": (_same, str),
    "organisation": (_same, _opt_str),
    "assignee": (_same, _opt_str),
    "resolution": (_same, _opt_str),
    "merged_into": (_same, _opt_str),
    "priority": (lambda p: p.name, Priority.parse),
    "impact": (_opt(lambda v: v.value), _opt(Impact)),
    "urgency": (_opt(lambda v: v.value), _opt(Urgency)),
    "tags": (sorted, frozenset),
    "watchers": (sorted, frozenset),
    "links": (_encode_links, _decode_links),
    "fields": (_encode_fields, _decode_fields),
    "resolved_at": (_opt(datetime.isoformat), _opt(datetime.fromisoformat)),
    "created": (datetime.isoformat, datetime.fromisoformat),
    "updated": (datetime.isoformat, datetime.fromisoformat),
}


# What a redacted value reads as, per field; the fields not here hold no personal data.
_REDACTED_AS: dict[str, Any] = {
    "title": REDACTED_TEXT,
    "description": REDACTED_TEXT,
    "reporter": REDACTED_TEXT,
    "assignee": None,
    "resolution": None,
    "organisation": None,
    "tags": frozenset(),
    "watchers": frozenset(),
    "links": frozenset(),
    "fields": types.MappingProxyType({}),
}


def redacted_value(path: str) -> Any:
    """The value a redacted ``path`` holds: ``"[redacted]"`` for text, nothing otherwise.

    A custom field (``"fields.x"``) reads as not set. Raises
    :class:`~ticketkit.ValidationError` for a value that holds no personal data
    (``status``, ``priority``, ``tenant``, …).
    """
    if path.startswith("fields."):
        return None
    if path not in _REDACTED_AS:
        _not_personal(path)
    return _REDACTED_AS[path]


def encode(path: str, value: Any) -> JSON:
    """The JSON form of the ticket value at ``path`` (``"priority"``, ``"fields.x"``)."""
    if path.startswith("fields."):
        return None if value is None else encode_field_value(value)
    return _CODECS[path][0](value)


def decode(path: str, data: JSON) -> Any:
    """Inverse of :func:`encode`; the :data:`REDACTED` marker reads as :func:`redacted_value`."""
    if is_redacted(data):
        return redacted_value(path)
    if path.startswith("fields."):
        return None if data is None else decode_field_value(data)
    return _CODECS[path][1](data)

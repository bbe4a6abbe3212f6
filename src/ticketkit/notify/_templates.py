"""Message templates: a subject and a body per kind of notification, with $placeholders."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from .._events import JSONValue
from .._model import Ticket
from .._text import _LINE_CONTROL
from ._notification import MAX_SUBJECT, Notification

__all__ = ["DEFAULT_TEMPLATES", "PLACEHOLDERS", "Template", "Templates", "ticket_context"]

#: The placeholders a template may use; a context value that is missing renders as "".
PLACEHOLDERS = frozenset(
    {
        "key",
        "title",
        "status",
        "priority",
        "assignee",
        "reporter",
        "target",
        "due",
        "level",
        "text",
        "author",
    }
)

# Any run of white space or control characters: a subject is rendered onto one line.
_LINE_BREAKING = re.compile(r"[\s\x00-\x1f\x7f\x80-\x9f\u2028\u2029]+")
# Control characters a body may not hold (tab and line feed stay).
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_LONGEST_TEMPLATE = 100_000


def _placeholders(text: str, where: str) -> None:
    template = string.Template(text)
    if not template.is_valid():
        raise ValidationError(
            f"the {where} {text[:60]!r} has a '$' that starts no placeholder; write '$$' for "
            f"a dollar sign or use one of ${', $'.join(sorted(PLACEHOLDERS))}",
            field="templates",
        )
    unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
    if unknown:
        raise ValidationError(
            f"the {where} uses the unknown placeholder ${unknown[0]}; use one of "
            f"${', $'.join(sorted(PLACEHOLDERS))}",
            field="templates",
        )


def _text(what: str, *, line: bool) -> Any:
    def check(instance: object, attribute: object, value: Any) -> None:
        if not isinstance(value, str):
            raise ValidationError(
                f"a template's {what} must be a string, got {type(value).__name__}",
                field="templates",
            )
        if len(value) > _LONGEST_TEMPLATE:
            raise ValidationError(
                f"a template's {what} is {len(value)} characters long; the limit is "
                f"{_LONGEST_TEMPLATE}",
                field="templates",
            )
        if line and (not value.strip() or _LINE_CONTROL.search(value)):
            raise ValidationError(
                f"a template's subject must be one non-empty line, got {value[:60]!r}",
                field="templates",
            )
        _placeholders(value, what)

    return check


@frozen
class Template:
    """The ``subject`` (one line) and ``body`` of one kind of message.

    Both may use the placeholders in :data:`PLACEHOLDERS` as ``$name`` or
    ``${name}``; ``$$`` is a dollar sign. Anything else after a ``$`` is
    refused when the template is built.
    """

    subject: str = field(validator=_text("subject", line=True))
    body: str = field(validator=_text("body", line=False))

    def render(self, context: Mapping[str, str]) -> tuple[str, str]:
        """``(subject, body)`` with the placeholders filled from ``context``.

        The subject is put onto one line (runs of white space and control
        characters, line breaks included, become one space) and cut to
        :data:`~ticketkit.notify._notification.MAX_SUBJECT` characters, so a
        ticket title can never add a header. The body's line breaks become
        ``\\n`` and its other control characters are dropped.
        """
        values = _context(context)
        subject = _LINE_BREAKING.sub(" ", string.Template(self.subject).substitute(values)).strip()
        if len(subject) > MAX_SUBJECT:
            subject = subject[: MAX_SUBJECT - 1] + "…"
        body = string.Template(self.body).substitute(values)
        body = _BODY_CONTROL.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))
        return subject, body


def _context(context: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(context, Mapping):
        raise ValidationError(
            f"a template context must be a mapping of placeholder names to text, got "
            f"{type(context).__name__}",
            field="context",
        )
    values = dict.fromkeys(PLACEHOLDERS, "")
    for name, value in context.items():
        if not isinstance(value, str):
            raise ValidationError(
                f"the template context value for {name!r} must be text, got "
                f"{type(value).__name__}; convert it with str()",
                field="context",
            )
        if name in PLACEHOLDERS:
            values[name] = value
    return values


def ticket_context(ticket: Ticket, **values: str) -> dict[str, str]:
    """The template context of ``ticket``: key, title, status, priority, assignee, reporter.

    ``values`` add or replace entries, e.g. ``target="resolution"``, ``due=...``,
    ``level=...`` or ``text=...``; keys outside :data:`PLACEHOLDERS` are refused.
    A ticket without an assignee gives ``assignee=""``.
    """
    unknown = sorted(set(values) - PLACEHOLDERS)
    if unknown:
        raise ValidationError(
            f"unknown template placeholder {unknown[0]!r}; use one of "
            f"{', '.join(sorted(PLACEHOLDERS))}",
            field="context",
        )
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValidationError(
                f"the template context value for {name!r} must be text, got "
                f"{type(value).__name__}; convert it with str()",
                field="context",
            )
    return {
        "key": ticket.key,
        "title": ticket.title,
        "status": ticket.status,
        "priority": str(ticket.priority),
        "assignee": ticket.assignee or "",
        "reporter": ticket.reporter,
        **values,
    }


#: The built-in templates, by name.
DEFAULT_TEMPLATES: Mapping[str, Template] = {
    "created": Template(
        "[$key] $title",
        "Hello $reporter,\n\n"
        "we have received your request and opened ticket $key: $title\n\n"
        "Please keep [$key] in the subject when you reply.\n",
    ),
    "assigned": Template(
        "[$key] Assigned to $assignee: $title",
        "Ticket $key ($title) is now assigned to $assignee.\n"
        "Status: $status. Priority: $priority.\n",
    ),
    "replied": Template(
        "[$key] $title",
        "$author replied to ticket $key ($title):\n\n$text\n\n"
        "Status: $status. Reply to this message to answer.\n",
    ),
    "status_changed": Template(
        "[$key] Status changed to $status: $title",
        "The status of ticket $key ($title) is now $status.\n",
    ),
    "sla_warning": Template(
        "[$key] SLA warning: $target due $due",
        "The $target target of ticket $key ($title) is due at $due.\n"
        "Status: $status. Priority: $priority. Assignee: $assignee.\n",
    ),
    "sla_breached": Template(
        "[$key] SLA breached: $target was due $due",
        "The $target target of ticket $key ($title) was due at $due and has been breached.\n"
        "Status: $status. Priority: $priority. Assignee: $assignee.\n",
    ),
    "escalated": Template(
        "[$key] Escalated to $level: $title",
        "Ticket $key ($title) has been escalated to $level.\n"
        "Status: $status. Priority: $priority. Assignee: $assignee.\n",
    ),
    "reminder": Template(
        "[$key] Reminder: $title",
        "A reminder about ticket $key ($title), status $status.\n\n$text\n",
    ),
    "rule": Template("[$key] $title", "$text\n"),
    # For ticketkit.surveys: $text is the survey link, $due when it expires.
    "survey": Template(
        "[$key] How did we do? $title",
        "Hello $reporter,\n\n"
        "ticket $key ($title) has been resolved. Please tell us how we did:\n\n"
        "$text\n\n"
        "The link can be used once, until $due.\n",
    ),
}


def _templates(value: object) -> Mapping[str, Template]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"templates must be a mapping of names to Template, got {type(value).__name__}",
            field="templates",
        )
    found = dict(DEFAULT_TEMPLATES)
    for name, template in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", name):
            raise ValidationError(
                f"{name!r:.60} is not a template name; use lower-case letters, digits, '_', "
                "'.' or '-' such as 'sla_warning'",
                field="templates",
            )
        if isinstance(template, Mapping):
            template = _template_from_data(name, template)
        elif isinstance(template, list | tuple) and len(template) == 2:
            template = Template(*template)
        if not isinstance(template, Template):
            raise ValidationError(
                f"the template {name!r} must be a Template, a (subject, body) pair or "
                f"{{'subject': ..., 'body': ...}}, got {type(template).__name__}",
                field="templates",
            )
        found[name] = template
    return found


def _template_from_data(name: str, data: Mapping[str, Any]) -> Template:
    unknown = sorted(str(k) for k in data if k not in ("subject", "body"))
    if unknown or "subject" not in data or "body" not in data:
        raise ValidationError(
            f"the template {name!r} must have exactly the keys subject and body, got "
            f"{', '.join(sorted(str(k) for k in data)) or 'none'}",
            field="templates",
        )
    return Template(data["subject"], data["body"])


@frozen
class Templates:
    """The templates notifications are rendered from, by name.

    ``Templates()`` holds :data:`DEFAULT_TEMPLATES` (``created``,
    ``assigned``, ``status_changed``, ``sla_warning``, ``sla_breached``,
    ``escalated``, ``reminder``, ``rule``); entries given in ``templates``
    replace those of the same name or add new names. Each may be a
    :class:`Template`, a ``(subject, body)`` pair or a mapping with ``subject``
    and ``body``; an unknown placeholder is refused here, not when sending.
    """

    templates: Mapping[str, Template] = field(factory=dict, converter=_templates)

    @staticmethod
    def context_for(ticket: Ticket, **values: str) -> dict[str, str]:
        """The template context of ``ticket`` plus ``values`` (see :func:`ticket_context`)."""
        return ticket_context(ticket, **values)

    @property
    def names(self) -> tuple[str, ...]:
        """The template names, sorted."""
        return tuple(sorted(self.templates))

    def with_template(self, name: str, subject: str, body: str) -> Templates:
        """A copy in which ``name`` is rendered from ``subject`` and ``body``."""
        return Templates({**self.templates, name: Template(subject, body)})

    def get(self, name: str) -> Template:
        """The template ``name``; a ValidationError naming the known ones if there is none."""
        template = self.templates.get(name)
        if template is None:
            raise ValidationError(
                f"there is no template named {name!r}; use one of {', '.join(self.names)} or "
                "add it with Templates.with_template",
                field="template",
            )
        return template

    def render(self, name: str, context: Mapping[str, str]) -> tuple[str, str]:
        """``(subject, body)`` of template ``name`` filled from ``context``.

        See :meth:`Template.render`.
        """
        return self.get(name).render(context)

    def notification(
        self,
        name: str,
        context: Mapping[str, str],
        *,
        channel: str,
        recipients: Iterable[str],
        ticket_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, JSONValue] | None = None,
    ) -> Notification:
        """A new :class:`Notification` for ``channel`` rendered from template ``name``.

        ``ticket_key`` defaults to ``context["key"]`` when that is set.
        """
        subject, body = self.render(name, context)
        key = ticket_key if ticket_key is not None else (context.get("key") or None)
        return Notification(
            channel=channel,
            template=name,
            recipients=tuple(recipients),
            subject=subject,
            body=body,
            ticket_key=key,
            headers=dict(headers or {}),
            data=dict(data or {}),
        )

    def to_data(self) -> dict[str, dict[str, str]]:
        """The templates that differ from the defaults, as ``{name: {"subject", "body"}}``."""
        return {
            name: {"subject": t.subject, "body": t.body}
            for name, t in sorted(self.templates.items())
            if DEFAULT_TEMPLATES.get(name) != t
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Templates:
        """Templates from :meth:`to_data`'s form: the defaults plus the given ones."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"templates data must be a mapping of names to {{'subject', 'body'}}, got "
                f"{type(data).__name__}",
                field="templates",
            )
        return cls(dict(data))

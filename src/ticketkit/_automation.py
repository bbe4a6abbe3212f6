"""What a help desk does on its own: the settings of SLA, rules, routing and more.

:class:`Automation` gathers them for :class:`~ticketkit.Tracker`:

* ``sla`` - an :class:`~ticketkit.sla.SLAPolicy` whose clocks run on every ticket;
* ``rules`` - a :class:`~ticketkit.rules.RuleSet` of automation rules;
* ``router`` - a :class:`~ticketkit.rules.Router` that assigns new unassigned tickets;
* ``escalation`` - an :class:`~ticketkit.rules.EscalationPolicy` that SLA warnings
  and breaches (and the ``escalate`` rule action) climb;
* ``auto_close`` - an :class:`AutoClose` for resolved and pending tickets;
* ``notifications`` - a :class:`Notifications` saying who is told what, through
  which of the tracker's notifiers, in words from its ``templates``;
* ``survey`` - a :class:`ticketkit.surveys.Survey` asking the reporter how we
  did after each resolution.

Everything here is data: :meth:`Automation.to_data` and :meth:`Automation.from_data`
round-trip through plain dicts, so a host keeps its help desk in a TOML or JSON file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field

from ._config import TrackerConfig
from ._errors import ValidationError
from ._text import check_name
from .rules._duration import format_duration, parse_duration

if TYPE_CHECKING:
    from ._model import Ticket
    from .notify import Templates
    from .rules import EscalationPolicy, Router, RuleSet
    from .sla import BusinessCalendar, SLAPolicy
    from .surveys import Survey

__all__ = ["AutoClose", "Automation", "Notifications", "is_reporter"]


def is_reporter(ticket: Ticket, actor: str) -> bool:
    """The default test of who is the customer: the ticket's reporter."""
    return actor == ticket.reporter


#: How a step of :class:`AutoClose` is turned off in data (TOML has no null).
OFF = "off"


def _wait(value: object, what: str) -> timedelta | None:
    if value is None or value == OFF:
        return None
    if not isinstance(value, timedelta):
        value = parse_duration(value, what)
    if value <= timedelta(0):
        raise ValidationError(
            f"{what} must be a positive length of time such as '3d', got {value}", field=what
        )
    return value


def _resolved_after(value: object) -> timedelta | None:
    return _wait(value, "resolved_after")


def _remind_after(value: object) -> timedelta | None:
    return _wait(value, "remind_after")


def _close_pending_after(value: object) -> timedelta | None:
    return _wait(value, "close_pending_after")


def _channel(value: object) -> str:
    return check_name(value, "channel")


def _actor(value: object) -> str:
    return check_name(value, "actor")


def _optional_action(value: object) -> str | None:
    return None if value is None else check_name(value, "auto_close action")


@attrs.frozen
class AutoClose:
    """Close what nobody waits for any more.

    * A ticket in a resolved-category state closes ``resolved_after`` after it
      was resolved or after the customer's last reply, whichever is later,
      through ``close_action`` (by default the workflow action from its state into
      a closed-category state).
    * A ticket in a pending-category state (waiting for the customer) gets a
      reminder ``remind_after`` after it began waiting, unless the customer has
      replied since, and is closed ``close_pending_after`` after it began waiting,
      through ``pending_action`` (by default the action from its state into a
      closed-category state, else into a resolved-category one).

    ``None`` (``"off"`` in data) turns a step off. Times count on the SLA calendar when ``business``
    is true, else as wall-clock time. ``resolution`` is given to actions that
    need one.
    """

    resolved_after: timedelta | None = field(default=timedelta(days=7), converter=_resolved_after)
    remind_after: timedelta | None = field(default=timedelta(days=3), converter=_remind_after)
    close_pending_after: timedelta | None = field(
        default=timedelta(days=7), converter=_close_pending_after
    )
    business: bool = False
    close_action: str | None = field(default=None, converter=_optional_action)
    pending_action: str | None = field(default=None, converter=_optional_action)
    resolution: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.business, bool):
            raise ValidationError(
                f"auto_close business must be true or false, got {self.business!r}",
                field="business",
            )
        if (
            self.remind_after is not None
            and self.close_pending_after is not None
            and self.remind_after >= self.close_pending_after
        ):
            raise ValidationError(
                f"auto_close remind_after ({self.remind_after}) must come before "
                f"close_pending_after ({self.close_pending_after}), or the reminder "
                "would never be sent",
                field="remind_after",
            )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in ("resolved_after", "remind_after", "close_pending_after"):
            value = getattr(self, name)
            data[name] = OFF if value is None else format_duration(value)
        data["business"] = self.business
        for name in ("close_action", "pending_action", "resolution"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AutoClose:
        _known(data, "auto_close", {a.name for a in attrs.fields(cls)})
        return cls(**data)


#: The events :class:`Notifications` can tell people about, and the template of each.
NOTICES = (
    "created",
    "assigned",
    "replied",
    "status_changed",
    "sla_warning",
    "sla_breached",
    "escalated",
    "reminder",
)


@attrs.frozen
class Notifications:
    """Who hears about what, through which notifier.

    ``channel`` names the tracker notifier (``Tracker(notifiers={"email": ...})``)
    that carries them. ``send`` lists the events that notify at all:

    * ``created`` - the reporter gets an acknowledgement naming the ticket key;
    * ``assigned`` - the new assignee;
    * ``status_changed`` - the reporter;
    * ``sla_warning``, ``sla_breached`` - the assignee, else ``agents``;
    * ``escalated`` - the people the escalation level names, else the assignee;
    * ``reminder`` - the reporter of a ticket that waits for them.

    Nobody is told about their own change. With ``addresses_only`` (the default),
    only recipients that look like e-mail addresses (with an ``@``) are sent to.
    With ``domain`` (the host the help desk's mail comes from), every message
    carries threading headers (``Message-ID`` naming the ticket,
    ``In-Reply-To``, ``References``; see :func:`ticketkit.intake.outgoing_headers`)
    so that a customer's reply leads back to the ticket.
    """

    channel: str = field(default="email", converter=_channel)
    send: frozenset[str] = field(default=frozenset(NOTICES), converter=frozenset)
    agents: tuple[str, ...] = field(default=(), converter=tuple)
    addresses_only: bool = True
    domain: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.domain is not None:
            from .intake._threading import check_domain

            check_domain(self.domain, "notifications domain")
        unknown = sorted(set(self.send) - set(NOTICES))
        if unknown:
            raise ValidationError(
                f"unknown notification {unknown[0]!r}; choose from {', '.join(NOTICES)}",
                field="notifications.send",
            )
        for who in self.agents:
            check_name(who, "notifications.agents")

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": self.channel,
            "send": sorted(self.send),
            "agents": list(self.agents),
            "addresses_only": self.addresses_only,
        }
        if self.domain is not None:
            data["domain"] = self.domain
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Notifications:
        _known(data, "notifications", {a.name for a in attrs.fields(cls)})
        return cls(**data)


def _known(data: object, what: str, names: Iterable[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{what} must be a table (mapping), got {type(data).__name__}")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValidationError(
            f"unknown {what} setting {unknown[0]!r}; the settings are {', '.join(sorted(names))}",
            field=what,
        )


def _rules(value: object) -> RuleSet:
    from .rules import RuleSet

    if value is None:
        return RuleSet(())
    if isinstance(value, RuleSet):
        return value
    if isinstance(value, list | tuple):
        return RuleSet(tuple(value))
    raise ValidationError(
        f"rules must be a RuleSet or a list of Rule, got {value!r}", field="rules"
    )


def _templates(value: object) -> Templates:
    from .notify import Templates

    if value is None:
        return Templates()
    if not isinstance(value, Templates):
        raise ValidationError(f"templates must be a Templates, got {value!r}", field="templates")
    return value


def _survey(value: object) -> Survey | None:
    if value is None:
        return None
    from .surveys import Survey

    if not isinstance(value, Survey):
        raise ValidationError(
            f"survey must be a ticketkit.surveys.Survey, got {value!r:.60}", field="survey"
        )
    return value


@attrs.frozen
class Automation:
    """A help desk's commitments and habits (see the module).

    ``customer`` tells a customer's action from an agent's (default: the
    reporter is the customer); responses, replies and reminders depend on it.
    ``available(agent)``, when given, tells the router who is at work now (a
    presence system, a rota). ``actor`` is the name automated changes are
    recorded under. A rule's own changes trigger further rules at most
    ``rules.max_depth`` deep.
    """

    sla: SLAPolicy | None = None
    rules: RuleSet = field(factory=lambda: _rules(None), converter=_rules)
    router: Router | None = None
    escalation: EscalationPolicy | None = None
    auto_close: AutoClose | None = None
    notifications: Notifications | None = None
    templates: Templates = field(factory=lambda: _templates(None), converter=_templates)
    actor: str = field(default="automation", converter=_actor)
    deliver_inline: bool = True
    survey: Survey | None = field(default=None, converter=_survey)
    customer: Callable[[Ticket, str], bool] = field(default=is_reporter, eq=False)
    available: Callable[[str], bool] | None = field(default=None, eq=False)

    @property
    def calendar(self) -> BusinessCalendar:
        """The SLA's business calendar, or one that is always open."""
        if self.sla is not None:
            return self.sla.calendar
        from .sla import BusinessCalendar

        return BusinessCalendar.always()

    @property
    def timed(self) -> bool:
        """Does anything here happen at a time rather than on a change?"""
        delayed_survey = self.survey is not None and bool(self.survey.delay)
        return bool(self.sla or self.auto_close or self.rules.timed() or delayed_survey)

    def check(self, config: TrackerConfig) -> None:
        """Refuse settings that name fields, queues or actions ``config`` does not have."""
        queues = tuple(config.queues)
        if self.sla is not None:
            self.sla.check(config.fields, queues)
        self.rules.check(config.fields, config.workflow)
        if self.router is not None:
            self.router.check(config.fields, queues)
        if self.escalation is not None:
            self.escalation.check(config.fields, queues)
        workflow = config.workflow
        if self.auto_close is not None:
            for name in (self.auto_close.close_action, self.auto_close.pending_action):
                if name is not None and name not in {a.name for a in workflow.actions}:
                    raise ValidationError(
                        f"auto_close names the action {name!r}, which workflow "
                        f"{workflow.name!r} does not have",
                        field="auto_close",
                    )
        from .rules import Assign, Escalate

        actions = [action for rule in self.rules.rules for action in rule.actions]
        if self.escalation is None and any(isinstance(a, Escalate) for a in actions):
            raise ValidationError(
                "a rule escalates, but no escalation policy is set; give Automation an "
                "escalation=EscalationPolicy(...)",
                field="escalation",
            )
        if self.survey is not None and self.notifications is None:
            raise ValidationError(
                "a survey is sent as a notification, but no notifications are set; give "
                "Automation notifications=Notifications(...) (send=() sends only surveys)",
                field="survey",
            )
        if self.router is None and any(isinstance(a, Assign) and a.route for a in actions):
            raise ValidationError(
                "a rule routes a ticket, but no router is set; give Automation a "
                "router=Router(...)",
                field="router",
            )

    def to_data(self) -> dict[str, Any]:
        """Plain data for a TOML or JSON file (``customer`` and ``available`` are code
        and are left out)."""
        data: dict[str, Any] = {"actor": self.actor, "deliver_inline": self.deliver_inline}
        for name in ("sla", "router", "escalation", "auto_close", "notifications", "survey"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value.to_data()
        if self.rules.rules:
            data["rules"] = self.rules.to_data()
        templates = self.templates.to_data()
        if templates:
            data["templates"] = templates
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Automation:
        from .notify import Templates
        from .rules import EscalationPolicy, Router, RuleSet
        from .sla import SLAPolicy

        _known(data, "automation", set(_READERS) | {"actor", "deliver_inline"})
        from .surveys import Survey

        readers: dict[str, Callable[[Any], Any]] = {
            "sla": SLAPolicy.from_data,
            "rules": RuleSet.from_data,
            "router": Router.from_data,
            "escalation": EscalationPolicy.from_data,
            "auto_close": AutoClose.from_data,
            "notifications": Notifications.from_data,
            "templates": Templates.from_data,
            "survey": Survey.from_data,
        }
        values: dict[str, Any] = {
            name: readers[name](value) for name, value in data.items() if name in readers
        }
        for name in ("actor", "deliver_inline"):
            if name in data:
                values[name] = data[name]
        return cls(**values)


_READERS = (
    "sla",
    "rules",
    "router",
    "escalation",
    "auto_close",
    "notifications",
    "templates",
    "survey",
)

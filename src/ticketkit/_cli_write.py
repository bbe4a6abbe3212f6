"""``ticketkit open``, ``transition``, ``comment`` and ``assign``: the commands that write.

Each prints its result on stdout (``open`` the new key; the others a line
saying what the ticket is now), or with ``--json`` the ticket (``comment``:
the comment) in ``ticketkit.serde``'s form. ``--actor`` defaults to
$TICKETKIT_ACTOR, else the login name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from ._cli_config import actor_option, json_option, open_tracker, read_text, url_option
from ._cli_output import emit_json, ticket_data
from .cli import reporting

if TYPE_CHECKING:
    from ._errors import TransitionNotAllowed
    from ._fields import FieldDef
    from ._model import Ticket
    from ._tracker import Tracker

__all__ = [
    "assign_command",
    "comment_command",
    "open_command",
    "parse_fields",
    "transition_command",
]


def parse_fields(given: Iterable[str], defs: Mapping[str, FieldDef]) -> dict[str, Any]:
    """``--field name=value`` options as custom-field values of the fields' types.

    Whole numbers, ``true``/``false`` and comma-separated choices are read as
    ``ticketkit import`` reads CSV cells; an empty value clears the field.
    """
    from ._errors import ValidationError
    from .importers._csv import _field_value

    values: dict[str, Any] = {}
    for item in given:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValidationError(f"--field takes name=value, got {item!r}", field="fields")
        values[name] = _field_value(defs.get(name), text) if text else None
    return values


def _expected_version(command: Any) -> Any:
    return click.option(
        "--expected-version",
        type=click.IntRange(min=1),
        help="Refuse (exit 4) unless the ticket is still at this version.",
    )(command)


def _done(ticket: Ticket, as_json: bool) -> None:
    if as_json:
        emit_json(ticket_data(ticket))
        return
    who = ticket.assignee or "nobody"
    click.echo(f"{ticket.key} {ticket.status} (assigned to {who}, version {ticket.version})")


def _naming_allowed(
    tracker: Tracker, key: str, actor: str, refused: TransitionNotAllowed
) -> TransitionNotAllowed:
    """``refused``, saying which actions ``actor`` may take now if it does not yet."""
    from ._errors import TransitionNotAllowed

    if "you can:" in str(refused):  # the workflow already named the actions from the status
        return refused
    allowed = [a.name for a in tracker.available_actions(key, actor)]
    return TransitionNotAllowed(
        f"{refused}; what {actor} can do now: {', '.join(allowed) or 'nothing'}",
        key=refused.key,
        status=refused.status,
        action=refused.action,
        reason=refused.reason,
    )


def open_command() -> click.Command:
    @click.command("open")
    @click.argument("title")
    @click.option("-d", "--description", default="", help="The description; - reads stdin.")
    @click.option("-p", "--priority", help="P1 (most urgent) to P5 [default: the tracker's].")
    @click.option("-a", "--assignee", help="Who works on it.")
    @click.option("-q", "--queue", help="Queue (its prefix gives the key).")
    @click.option("-t", "--tag", "tags", multiple=True, help="A tag; repeat for more.")
    @click.option("-f", "--field", "fields", multiple=True, help="Custom field name=value.")
    @click.option("--reporter", help="Who reported it [default: the actor].")
    @click.option("--tenant", default="default", show_default=True, help="Help desk (tenant).")
    @actor_option
    @url_option
    @json_option
    @click.pass_context
    def open_(
        ctx: click.Context,
        title: str,
        description: str,
        priority: str | None,
        assignee: str | None,
        queue: str | None,
        tags: tuple[str, ...],
        fields: tuple[str, ...],
        reporter: str | None,
        tenant: str,
        actor: str,
        url: str | None,
        as_json: bool,
    ) -> None:
        """Open a ticket titled TITLE; print its key."""
        from ._edits import UNSET

        text = read_text(description)
        with reporting(), open_tracker(ctx, url) as tracker:
            ticket = tracker.open(
                title,
                text,
                actor=actor,
                reporter=reporter,
                priority=UNSET if priority is None else priority,
                assignee=assignee,
                queue=queue,
                tags=tags,
                fields=parse_fields(fields, tracker.config.fields) or None,
                tenant=tenant,
            )
        if as_json:
            emit_json(ticket_data(ticket))
        else:
            click.echo(ticket.key)

    return open_


def transition_command() -> click.Command:
    @click.command("transition", short_help="Carry out a workflow action on a ticket.")
    @click.argument("key")
    @click.argument("action")
    @click.option("-m", "--comment", help="A comment added in the same change; - reads stdin.")
    @click.option("--internal", is_flag=True, help="The comment is an internal note.")
    @click.option("-r", "--resolution", help="For actions that ask for one (bugtracker).")
    @click.option("-f", "--field", "fields", multiple=True, help="Custom field name=value.")
    @_expected_version
    @actor_option
    @url_option
    @json_option
    @click.pass_context
    def transition(
        ctx: click.Context,
        key: str,
        action: str,
        comment: str | None,
        internal: bool,
        resolution: str | None,
        fields: tuple[str, ...],
        expected_version: int | None,
        actor: str,
        url: str | None,
        as_json: bool,
    ) -> None:
        """Carry out the workflow ACTION on ticket KEY (start, resolve, close, ...).

        A refused action exits 1 naming the actions allowed from the ticket's status.
        """
        from ._errors import TransitionNotAllowed

        text = None if comment is None else read_text(comment)
        with reporting(), open_tracker(ctx, url) as tracker:
            try:
                ticket = tracker.transition(
                    key,
                    action,
                    actor=actor,
                    comment=text,
                    internal=internal,
                    resolution=resolution,
                    fields=parse_fields(fields, tracker.config.fields) or None,
                    expected_version=expected_version,
                )
            except TransitionNotAllowed as exc:
                raise _naming_allowed(tracker, key, actor, exc) from exc
        _done(ticket, as_json)

    return transition


def comment_command() -> click.Command:
    @click.command("comment", short_help="Add a reply or an internal note to a ticket.")
    @click.argument("key")
    @click.argument("text")
    @click.option("--internal", is_flag=True, help="An internal note, for agents only.")
    @_expected_version
    @actor_option
    @url_option
    @json_option
    @click.pass_context
    def comment(
        ctx: click.Context,
        key: str,
        text: str,
        internal: bool,
        expected_version: int | None,
        actor: str,
        url: str | None,
        as_json: bool,
    ) -> None:
        """Add a reply (or --internal note) TEXT to ticket KEY; TEXT - reads stdin."""
        from . import serde

        body = read_text(text)
        with reporting(), open_tracker(ctx, url) as tracker:
            added = tracker.comment(
                key, body, actor=actor, internal=internal, expected_version=expected_version
            )
            ticket = tracker.get(added.ticket_key)
        if as_json:
            emit_json(serde.unstructure(added))
        else:
            kind = "internal note" if added.internal else "comment"
            click.echo(f"{added.ticket_key} {kind} {added.id} (version {ticket.version})")

    return comment


def assign_command() -> click.Command:
    @click.command("assign")
    @click.argument("key")
    @click.argument("who", required=False)
    @click.option("--none", "unassign", is_flag=True, help="Leave the ticket unassigned.")
    @_expected_version
    @actor_option
    @url_option
    @json_option
    @click.pass_context
    def assign(
        ctx: click.Context,
        key: str,
        who: str | None,
        unassign: bool,
        expected_version: int | None,
        actor: str,
        url: str | None,
        as_json: bool,
    ) -> None:
        """Give ticket KEY to WHO, or with --none to nobody."""
        if (who is None) == (not unassign):
            raise click.UsageError("give either WHO or --none")
        with reporting(), open_tracker(ctx, url) as tracker:
            ticket = tracker.assign(key, who, actor=actor, expected_version=expected_version)
        _done(ticket, as_json)

    return assign

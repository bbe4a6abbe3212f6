"""A tracker's configuration: workflow, queues and their key prefixes, fields."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from attrs import field, frozen

from ._builtin_workflows import get_workflow
from ._errors import ValidationError
from ._fields import FieldDef
from ._priority import DEFAULT_MATRIX, Priority, PriorityMatrix
from ._text import preview
from ._workflow import Workflow

__all__ = ["KEY_PATTERN", "TrackerConfig"]

_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
KEY_PATTERN = re.compile(r"^([A-Z][A-Z0-9]{0,9})-([1-9][0-9]{0,17})$")


def _workflow(value: Workflow | str) -> Workflow:
    return get_workflow(value) if isinstance(value, str) else value


def _field_map(value: Sequence[FieldDef] | Mapping[str, FieldDef]) -> Mapping[str, FieldDef]:
    defs = list(value.values()) if isinstance(value, Mapping) else list(value)
    result: dict[str, FieldDef] = {}
    for fd in defs:
        if not isinstance(fd, FieldDef):
            raise ValidationError(f"custom fields must be FieldDef objects, got {fd!r}")
        if fd.name in result:
            raise ValidationError(f"custom field {fd.name!r} is defined twice")
        result[fd.name] = fd
    return result


def _priority(value: object) -> Priority:
    return Priority.parse(value)


@frozen
class TrackerConfig:
    """Everything a tracker needs to know besides its store and clock.

    ``queues`` maps each queue name to the key prefix of its tickets
    (``{"support": "HD", "bugs": "BUG"}``); by default there is one queue,
    ``default_queue``, whose tickets are keyed with ``prefix``.
    """

    workflow: Workflow = field(factory=lambda: get_workflow("helpdesk"), converter=_workflow)
    prefix: str = "TK"
    queues: Mapping[str, str] = field(factory=dict)
    default_queue: str = "default"
    fields: Mapping[str, FieldDef] = field(factory=dict, converter=_field_map)
    priority_matrix: PriorityMatrix = DEFAULT_MATRIX
    default_priority: Priority = field(default=Priority.P3, converter=_priority)
    max_attachment_size: int = 25 * 1024 * 1024

    def __attrs_post_init__(self) -> None:
        size = self.max_attachment_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValidationError(
                f"max_attachment_size must be a whole number of bytes (0 or more), got {size!r}",
                field="max_attachment_size",
            )
        if not self.queues:
            object.__setattr__(self, "queues", {self.default_queue: self.prefix})
        for queue, prefix in self.queues.items():
            if not isinstance(prefix, str) or not _PREFIX.match(prefix):
                raise ValidationError(
                    f"key prefix {prefix!r} of queue {queue!r} is not valid; use 1 to 10 "
                    "upper-case letters and digits starting with a letter, such as 'HD'"
                )
        if self.default_queue not in self.queues:
            raise ValidationError(
                f"the default queue {self.default_queue!r} is not one of the queues "
                f"{', '.join(sorted(self.queues))}"
            )

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(self.queues.values())

    def check_queue(self, queue: object) -> str:
        if not isinstance(queue, str) or queue not in self.queues:
            raise ValidationError(
                f"unknown queue {preview(queue)}; this tracker's queues are "
                f"{', '.join(sorted(self.queues))}",
                field="queue",
            )
        return queue

"""The store contract's tests of what erasure needs: renaming a person in comments,
attachments and the access log.

:class:`PersonalDataContract` is mixed into :class:`ticketkit.testing.StoreContract`,
whose ``store`` fixture it uses; it is not run on its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from ._access_log import MAX_REASON, Denial
from ._errors import NotFound
from ._model import Attachment
from ._testing_tenants import _AT, _World
from .storage import Store

__all__ = ["PersonalDataContract"]

_PERSON = "dora@acme.example"


class PersonalDataContract:
    """update_comment's author, update_attachment and rename_in_denials."""

    def test_update_comment_replaces_the_author(self, store: Store) -> None:
        """Erasure gives a comment a pseudonym for an author; comments_by_author follows."""
        world = _World(store)
        old = world.comments["a1"]
        erased = evolve(old, author="erased-1", body="", redacted_at=_AT, redacted_by="admin")
        with store.transaction() as tx:
            tx.update_comment(erased)
        assert store.comments(old.ticket_id) == [erased]
        assert store.comments_by_author("erased-1") == [erased]
        assert old not in store.comments_by_author(old.author)

    def test_update_attachment_replaces_only_the_uploader(self, store: Store) -> None:
        """uploaded_by changes; name, type, size, digest, time and content stay."""
        world = _World(store)
        old = world.attachments["a1"]
        with store.transaction() as tx:
            tx.update_attachment(
                evolve(old, uploaded_by="erased-1", filename="other.bin", size=1, sha256="0" * 64)
            )
        expected = evolve(old, uploaded_by="erased-1")
        assert store.attachments(old.ticket_id) == [expected]
        assert store.get_attachment(old.id) == expected
        assert store.attachment_content(old.id) == b"bytes of a1"
        assert store.get_attachment(world.attachments["a2"].id) == world.attachments["a2"]

    def test_update_attachment_of_one_added_in_the_same_transaction(self, store: Store) -> None:
        """An attachment added and renamed in one transaction is stored renamed."""
        ticket = _World(store).tickets["b1"]
        with store.transaction() as tx:
            added = tx.add_attachment(
                Attachment(
                    0, ticket.id, ticket.key, "x.txt", "text/plain", 1, "0" * 64, "bob", _AT
                ),
                b"x",
            )
            tx.update_attachment(evolve(added, uploaded_by="erased-2"))
        assert store.get_attachment(added.id) == evolve(added, uploaded_by="erased-2")

    def test_update_attachment_of_an_unknown_one_changes_nothing(self, store: Store) -> None:
        """NotFound for an unknown id or another ticket's attachment; the transaction rolls back."""
        world = _World(store)
        attachment = world.attachments["a1"]
        other = world.attachments["a2"]
        for bad in (
            evolve(attachment, id=attachment.id + 1000),
            evolve(attachment, ticket_id=other.ticket_id),
        ):

            def rename(bad: Attachment = bad) -> None:
                with store.transaction() as tx:
                    tx.update_attachment(evolve(other, uploaded_by="changed"))
                    tx.update_attachment(evolve(bad, uploaded_by="changed"))

            with pytest.raises(NotFound):
                rename()
        assert store.get_attachment(attachment.id) == attachment
        assert store.get_attachment(other.id) == other

    def test_rename_in_denials_replaces_the_person_in_one_tenant(self, store: Store) -> None:
        """Principal, target and reason lose the person, exactly; other tenants keep theirs."""

        def denial(n: int, tenant: str, principal: str, target: str | None, reason: str) -> Denial:
            return Denial(_AT + timedelta(minutes=n), principal, "customer", tenant, "read",
                          target, reason)  # fmt: skip

        alias = "erased-0123456789abcdef"  # longer than the person: texts are cut to fit
        long = "x" * (MAX_REASON - len(_PERSON)) + _PERSON
        with store.transaction() as tx:
            added = [
                tx.add_denial(d)
                for d in (
                    denial(0, "acme", _PERSON, "TK-1", f"{_PERSON} may not read TK-1"),
                    denial(1, "acme", "root", _PERSON, f"only admins erase {_PERSON}"),
                    denial(2, "acme", "ann", None, "DORA@acme.example is not dora@acme.example"),
                    denial(3, "acme", "x" + _PERSON, "TK-2", long),
                    denial(4, "beta", _PERSON, _PERSON, f"{_PERSON} elsewhere"),
                )
            ]
        with store.transaction() as tx:
            tx.rename_in_denials(_PERSON, alias, tenant="acme")
        assert store.denials()[::-1] == [
            evolve(added[0], principal=alias, reason=f"{alias} may not read TK-1"),
            evolve(added[1], target=alias, reason=f"only admins erase {alias}"),
            evolve(added[2], reason=f"DORA@acme.example is not {alias}"),
            evolve(added[3], reason=(long[: -len(_PERSON)] + alias)[:MAX_REASON]),
            added[4],
        ]

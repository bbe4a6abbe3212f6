"""Take mail in from an IMAP mailbox, with the standard library's :mod:`imaplib`.

The mailbox is a queue, as django-helpdesk and a fetchmail-fed rt-mailgate
treat it: every message in it not flagged ``\\Deleted`` is taken in (read or
unread: a person glancing at the mailbox must not hide a message from the
help desk), oldest UID first, and afterwards moved to the done mailbox,
whatever the outcome. Nothing is remembered between runs: what is still in
the mailbox is what is left to do. Messages are named by UID, never by
sequence number, and fetched with ``BODY.PEEK[]`` so that a crash leaves them
unread and in place; the next run takes them in again, which the gateway's
Message-ID reference makes harmless.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterable
from typing import Any, Literal, NoReturn

from ._errors import IntakeError
from ._gateway import IngestResult, MailGateway
from ._sources import DONE_FOLDER, IngestSummary, MailSourceError

__all__ = ["SECURITY", "imap_mailbox_name", "ingest_imap"]

logger = logging.getLogger("ticketkit.intake.imap")

#: Every ``security`` ingest_imap takes, with the port each uses by default.
SECURITY = {"tls": 993, "starttls": 143, "none": 143}
#: RFC 5530 response codes that mean "try again later", not "the settings are wrong".
_TEMPORARY_CODES = re.compile(r"\[(UNAVAILABLE|INUSE|LIMIT|SERVERBUG)\b")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_BAD_NAME_CHARS = frozenset("\r\n\0")

Security = Literal["tls", "starttls", "none"]


def imap_mailbox_name(name: str) -> str:
    """``name`` as an IMAP quoted string in modified UTF-7 (RFC 3501, 5.1.3).

    ``"Erledigt & fertig"`` becomes ``'"Erledigt &- fertig"'`` and ``"Tâches"``
    becomes ``'"T&AOI-ches"'``, which every IMAP4rev1 server understands.
    """
    if not isinstance(name, str) or not name or _BAD_NAME_CHARS & set(name):
        raise IntakeError(
            f"IMAP mailbox name {name!r} must be a non-empty string without line breaks"
            " or NUL characters, like 'INBOX' or 'INBOX/Support'"
        )
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            packed = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + packed.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return _quote("".join(out))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    """What the server (or imaplib, or the network) said, as one readable line."""
    if isinstance(value, OSError) and value.strerror:
        value = value.strerror
    elif isinstance(value, BaseException):
        value = value.args[0] if len(value.args) == 1 else str(value)
    if isinstance(value, list | tuple) and value:
        value = value[-1]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split()) or "no reason given"


def _is_temporary(said: object) -> bool:
    """True when the server's answer carries a code meaning "try again later"."""
    return _TEMPORARY_CODES.search(_text(said)) is not None


def _uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1:3,7"``."""
    ranges: list[list[int]] = []
    for uid in sorted(uids):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def _check(
    host: str,
    port: int | None,
    user: str,
    password: str,
    security: str,
    max_messages: int,
    timeout: float,
) -> int:
    """Refuse bad settings before connecting; return the port to use."""
    if not isinstance(host, str) or not host.strip():
        raise IntakeError(f"IMAP host {host!r} must be a host name, like 'imap.example.com'")
    if security not in SECURITY:
        raise IntakeError(
            f"IMAP security {security!r} is not one of {', '.join(map(repr, SECURITY))};"
            " use 'tls' (port 993) unless the server only offers STARTTLS on port 143"
        )
    for name, value in (("user", user), ("password", password)):
        if not isinstance(value, str) or not value or _BAD_NAME_CHARS & set(value):
            raise IntakeError(
                f"IMAP {name} must be a non-empty string without line breaks or NUL characters"
            )
    if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
        raise IntakeError(
            f"max_messages must be a positive whole number, got {max_messages!r}; e.g. 100"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise IntakeError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if port is None:
        return SECURITY[security]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise IntakeError(f"IMAP port must be a whole number from 1 to 65535, got {port!r}")
    return port


class _Session:
    """One logged-in connection; every failure becomes a :class:`MailSourceError`."""

    def __init__(self, imap: imaplib.IMAP4, where: str) -> None:
        self.imap = imap
        self.where = where
        self.capabilities: frozenset[str] = frozenset()
        self.mailbox: str | None = None

    def fail(
        self,
        what: str,
        said: object,
        *,
        temporary: bool = False,
        hint: str = "",
        cause: BaseException | None = None,
    ) -> NoReturn:
        where = f"{self.where} (mailbox {self.mailbox!r})" if self.mailbox else self.where
        message = f"IMAP server {where}: {what}: {_text(said).rstrip('.')}"
        error = MailSourceError(message + (f"; {hint}" if hint else ""), temporary=temporary)
        raise error from cause

    def call(
        self, what: str, command: Callable[..., tuple[str, Any]], *args: Any, hint: str = ""
    ) -> list[Any]:
        """Run one imaplib command; a NO or BAD answer fails with ``what`` in the message."""
        kind, data = self.ask(what, command, *args, hint=hint)
        if kind != "OK":
            self.fail(what, data, temporary=_is_temporary(data), hint=hint)
        return data

    def ask(
        self, what: str, command: Callable[..., tuple[str, Any]], *args: Any, hint: str = ""
    ) -> tuple[str, list[Any]]:
        """Run one imaplib command and return its answer; only a broken connection fails."""
        try:
            kind, data = command(*args)
        except imaplib.IMAP4.readonly as exc:  # SELECT gave READ-ONLY
            hint = "the user must be allowed to move messages out of it"
            self.fail(what, exc, hint=hint, cause=exc)
        except imaplib.IMAP4.abort as exc:  # connection lost, BYE
            self.fail(what, exc, temporary=True, hint="try again later", cause=exc)
        except imaplib.IMAP4.error as exc:  # imaplib raises some NO answers
            self.fail(what, exc, temporary=_is_temporary(exc), hint=hint, cause=exc)
        except OSError as exc:  # a timeout, a reset, a TLS alert mid-session
            self.fail(what, exc, temporary=True, hint="try again later", cause=exc)
        return kind, list(data)

    def login(self, user: str, password: str) -> None:
        what, hint = f"login as {user!r} refused", "check the user name and the password"
        if "LOGINDISABLED" in self.imap.capabilities:
            self.fail(
                what,
                "the server takes no password over a connection without TLS",
                hint="use security='tls' or 'starttls'",
            )
        if user.isascii() and password.isascii():
            self.call(what, self.imap.login, _quote(user), password, hint=hint)
        elif "AUTH=PLAIN" in self.imap.capabilities:
            secret = b"\0" + user.encode() + b"\0" + password.encode()
            self.call(what, self.imap.authenticate, "PLAIN", lambda _: secret, hint=hint)
        else:
            self.fail(what, "a user name or password that is not ASCII needs AUTH=PLAIN")
        lines = self.call("cannot read its capabilities", self.imap.capability)
        self.capabilities = frozenset(_text(lines).upper().split())

    def ensure(self, mailbox: str) -> None:
        """Create ``mailbox`` unless it exists (and subscribe to it, for mail programs)."""
        quoted = imap_mailbox_name(mailbox)
        kind, _ = self.ask(f"cannot check {mailbox!r}", self.imap.status, quoted, "(MESSAGES)")
        if kind == "OK":
            return
        self.call(
            f"cannot create the done mailbox {mailbox!r}",
            self.imap.create,
            quoted,
            hint="create it yourself, or name one under the inbox like 'INBOX.ticketkit-done'",
        )
        logger.info("created IMAP mailbox %r on %s", mailbox, self.where)
        self.ask(f"cannot subscribe to {mailbox!r}", self.imap.subscribe, quoted)

    def select(self, mailbox: str) -> None:
        self.call(
            f"cannot open mailbox {mailbox!r}",
            self.imap.select,
            imap_mailbox_name(mailbox),
            hint="check its name (names other than INBOX are case-sensitive)",
        )
        self.mailbox = mailbox

    def waiting(self) -> list[int]:
        """The UIDs of every message not flagged ``\\Deleted``, oldest first."""
        data = self.call("cannot search the mailbox", self.imap.uid, "SEARCH", "UNDELETED")
        return sorted({int(n) for line in data if line for n in bytes(line).split()})

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """``RFC822.SIZE`` of each UID still there (the server's count, not a download)."""
        data = self.call(
            "cannot read message sizes", self.imap.uid, "FETCH", _uid_set(uids), "(RFC822.SIZE)"
        )
        found: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
            if uid and size:
                found[int(uid.group(1))] = int(size.group(1))
        return found

    def fetch(self, uid: int, limit: int) -> bytes | None:
        """At most ``limit`` bytes of the message, leaving it unread; None when it is gone."""
        what, part = f"cannot fetch message UID {uid}", f"(BODY.PEEK[]<0.{limit}>)"
        data = self.call(what, self.imap.uid, "FETCH", str(uid), part)
        for item in data:
            if isinstance(item, tuple) and b"BODY[" in item[0].upper():
                return bytes(item[1])
        return None

    def move(self, uid: int, target: str) -> None:
        """Move UID ``uid`` to ``target``: UID MOVE, else copy, flag deleted and expunge."""
        where, quoted = str(uid), imap_mailbox_name(target)
        what = f"cannot move message UID {uid} to {target!r}"
        if "MOVE" in self.capabilities:
            self.call(what, self.imap.uid, "MOVE", where, quoted)
            return
        self.call(what, self.imap.uid, "COPY", where, quoted)
        self.call(what, self.imap.uid, "STORE", where, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.capabilities:
            self.call(what, self.imap.uid, "EXPUNGE", where)
        else:  # also removes others' \Deleted messages: the mailbox is the gateway's alone
            self.call(what, self.imap.expunge)

    def close(self) -> None:
        try:
            self.imap.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                self.imap.shutdown()


def _connect(
    host: str, port: int, security: str, timeout: float, context: ssl.SSLContext | None
) -> imaplib.IMAP4:
    """A connection to ``host``, over TLS unless ``security`` is ``"none"``."""
    if security != "none" and context is None:
        context = ssl.create_default_context()  # imaplib's own context checks nothing
    imap: imaplib.IMAP4 | None = None
    try:
        if security == "tls":
            return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
        imap = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            if "STARTTLS" not in imap.capabilities:
                raise MailSourceError(
                    f"IMAP server {host}:{port} does not offer STARTTLS;"
                    " use security='tls' (port 993)"
                )
            imap.starttls(context)
        return imap
    except (OSError, imaplib.IMAP4.error, MailSourceError) as exc:
        if imap is not None:
            with contextlib.suppress(OSError):
                imap.shutdown()
        if isinstance(exc, MailSourceError):
            raise
        raise _connect_error(f"{host}:{port}", security, exc) from exc


def _connect_error(where: str, security: str, exc: Exception) -> MailSourceError:
    """What went wrong while connecting, and whether trying again later may help."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailSourceError(
            f"IMAP server {where}: its TLS certificate is not trusted ({exc.verify_message});"
            " pass an ssl_context that trusts its CA (or set SSL_CERT_FILE)"
        )
    if isinstance(exc, ssl.SSLError):
        hint = (
            "with security='tls' the port must speak TLS from the start (993);"
            " use 'starttls' for port 143"
            if security == "tls"
            else "check that the port is the server's IMAP port"
        )
        return MailSourceError(f"IMAP server {where}: TLS failed ({_text(exc)}); {hint}")
    if isinstance(exc, OSError | imaplib.IMAP4.abort):
        said = _text(exc) if str(exc) else type(exc).__name__
        return MailSourceError(
            f"cannot reach IMAP server {where}: {said}; check the host and port,"
            " or try again later",
            temporary=True,
        )
    return MailSourceError(f"IMAP server {where} cannot be used: {_text(exc)}")


def ingest_imap(
    gateway: MailGateway,
    host: str,
    *,
    user: str,
    password: str,
    port: int | None = None,
    mailbox: str = "INBOX",
    security: Security = "tls",
    done_mailbox: str = DONE_FOLDER,
    max_messages: int = 100,
    timeout: float = 60.0,
    ssl_context: ssl.SSLContext | None = None,
) -> IngestSummary:
    """Take in the messages waiting in ``mailbox`` on ``host``; move each to ``done_mailbox``.

    ``security`` is ``"tls"`` (IMAPS, port 993 by default), ``"starttls"``
    (port 143, upgraded before logging in) or ``"none"`` (plain text: only for
    a server on the same host). Certificates are checked against the system's
    CAs unless ``ssl_context`` says otherwise. ``timeout`` bounds every wait
    on the server, in seconds.

    At most ``max_messages`` are taken per run (``summary.pending`` says how
    many wait for the next). A message whose ``RFC822.SIZE`` is over the
    gateway's ``limits.max_message_bytes`` is not downloaded: it is moved to
    the done mailbox with the outcome ``"refused"``. The done mailbox is
    created when missing (on servers whose folders live under the inbox, pass
    e.g. ``"INBOX.ticketkit-done"``).

    Raises :class:`MailSourceError` when the server cannot be reached
    (``temporary``), refuses the login or has no such mailbox; a
    ``StorageError`` from the gateway stops the run and leaves the message in
    the mailbox for the next one. The password is never logged nor put in a
    message.
    """
    port = _check(host, port, user, password, security, max_messages, timeout)
    if imap_mailbox_name(done_mailbox) == imap_mailbox_name(mailbox):
        raise IntakeError(
            f"done_mailbox {done_mailbox!r} must differ from mailbox {mailbox!r}:"
            " taken-in messages move there"
        )
    limit = gateway.limits.max_message_bytes
    session = _Session(_connect(host, port, security, timeout, ssl_context), f"{host}:{port}")
    try:
        session.login(user, password)
        session.ensure(done_mailbox)
        session.select(mailbox)
        waiting = session.waiting()
        batch = waiting[:max_messages]
        sizes = session.sizes(batch) if batch else {}
        results: list[IngestResult] = []
        for uid in batch:
            size = sizes.get(uid)
            if size is not None and size > limit:
                result = IngestResult("refused", reason="max_message_bytes")  # not downloaded
            else:
                raw = session.fetch(uid, limit + 1)  # a server misstating sizes still gets cut
                if raw is None:
                    continue  # another reader moved it meanwhile
                result = gateway.ingest(raw)
            session.move(uid, done_mailbox)
            results.append(result)
            logger.info(
                "%s %s UID %s: %s %s",
                session.where,
                mailbox,
                uid,
                result.outcome,
                result.key or result.reason or "",
            )
    finally:
        session.close()
    return IngestSummary(tuple(results), pending=len(waiting) - len(batch))

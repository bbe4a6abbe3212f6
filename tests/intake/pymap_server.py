"""A real IMAP server for the tests: pymap, its in-memory backend, on 127.0.0.1.

pymap runs on an asyncio loop of its own thread. Its IMAP service is
pymap's (``pymap.imap.IMAPServer``); only the listening socket is ours, so
the server can also speak TLS from the start (IMAPS), which pymap's own
command line does not offer, and pick a free port without a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
import socket
import ssl
import subprocess
import threading
from argparse import Namespace
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from proxyprotocol.reader import ProxyProtocolReader
from proxyprotocol.sock import SocketInfo
from pymap.backend.dict import Config, DictBackend, Login
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from pysasl.hashing import BuiltinHash

USER = "desk@help.example.com"
PASSWORD = 's3cret pass\\word"!'  # a space, a backslash and a quote: LOGIN must quote it


@dataclass
class Server:
    """Where a running pymap listens, and a way to look into its mailboxes."""

    port: int
    user: str = USER
    password: str = PASSWORD
    context: ssl.SSLContext | None = None  # set when the port speaks TLS from the start
    clients: list[imaplib.IMAP4] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    config: Config | None = None

    def make_read_only(self, name: str) -> None:
        """Mark the (existing) mailbox ``name`` read-only, as a server's ACL would."""
        assert self.loop is not None
        assert self.config is not None
        mailboxes, _ = self.config.set_cache[self.user]

        async def mark() -> None:
            (await mailboxes.get_mailbox(name))._readonly = True

        asyncio.run_coroutine_threadsafe(mark(), self.loop).result(10)

    def client(self) -> imaplib.IMAP4:
        """A logged-in client of our own (not ticketkit's) to seed and inspect mailboxes."""
        if self.context is not None:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                "127.0.0.1", self.port, ssl_context=self.context, timeout=10
            )
        else:
            imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        # imaplib sends an APPEND's literal and its line end apart: without this, Nagle's
        # algorithm meets the server's delayed ACK and every APPEND waits 40 ms.
        imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.user.isascii() and self.password.isascii():
            imap.login(f'"{self.user}"', self.password)
        else:
            secret = f"\0{self.user}\0{self.password}".encode()
            imap.authenticate("PLAIN", lambda _: secret)
        self.clients.append(imap)
        return imap

    def append(self, raw: bytes, mailbox: str = '"INBOX"', flags: str | None = None) -> None:
        """Deliver ``raw`` to ``mailbox`` (an IMAP-encoded, quoted name) with IMAP APPEND."""
        kind, data = self.client().append(mailbox, flags, None, raw)
        assert kind == "OK", data

    def messages(self, mailbox: str = '"INBOX"') -> list[tuple[bytes, bytes]]:
        """(flags, raw bytes) of every message in ``mailbox``, read without marking it seen."""
        imap = self.client()
        kind, data = imap.select(mailbox, readonly=True)
        assert kind == "OK", data
        kind, data = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert kind == "OK", data
        found = []
        for item in data:
            if isinstance(item, tuple):
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                found.append((flags.group(1) if flags else b"", item[1]))
        return found

    def mailboxes(self) -> list[bytes]:
        """The raw LIST lines of the account."""
        kind, data = self.client().list('""', "*")
        assert kind == "OK", data
        return [line for line in data if isinstance(line, bytes)]

    def close_clients(self) -> None:
        for imap in self.clients:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                imap.shutdown()
        self.clients.clear()


def _config_class(hidden: Sequence[bytes]) -> type[Config]:
    class Hiding(Config):
        """pymap's config, with some capabilities not announced after login."""

        @property
        def greeting(self) -> bytes:
            return b"Server ready"  # pymap's own looks the host name up, for each connection

        @property
        def login_capability(self) -> Sequence[bytes]:
            return [c for c in super().login_capability if c not in hidden]

    return Hiding


@contextmanager
def running_pymap(
    *,
    user: str = USER,
    password: str = PASSWORD,
    implicit_tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    hide: Sequence[bytes] = (),
    client_context: ssl.SSLContext | None = None,
) -> Iterator[Server]:
    """Run pymap until the block ends: a plain port, or TLS from the start, or STARTTLS.

    ``hide`` lists capabilities (``b"MOVE"``, ``b"UIDPLUS"``) the server does
    not announce, so a client takes its other way to move messages.
    """
    ready = threading.Event()
    found: dict[str, object] = {}
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        args = Namespace(
            host="127.0.0.1", port=0, debug=False, cert=None, key=None, tls=starttls is not None,
            passlib_cfg=None, proxy_protocol=None, inherited_sockets=None,
            demo_data=False, demo_user=user, demo_password=password,
        )  # fmt: skip
        config = _config_class(hide).from_args(
            args,
            invalid_user_sleep=0.0,
            hash_context=BuiltinHash(rounds=1000),  # pymap's 500,000 rounds cost 0.3 s a login
            cpu_subsystem=Subsystem.for_asyncio(),  # hash on the loop: no thread pool to stop
            ssl_context=starttls,
            reject_dnsbl=False,
        )
        login = Login(config)
        await DictBackend._add_demo_user(config, login)
        backend = DictBackend(login, config)
        config.apply_context()
        imap = IMAPServer(backend.login, config)
        connections: set[asyncio.Task[object]] = set()

        async def connected(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, info: SocketInfo
        ) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await imap(reader, writer, info)
            finally:
                writer.close()
                connections.discard(task)

        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(connected)
        server = await asyncio.start_server(callback, "127.0.0.1", 0, ssl=implicit_tls)
        found["port"] = server.sockets[0].getsockname()[1]
        found["config"] = config
        stop.append(asyncio.Event())
        ready.set()
        await stop[0].wait()
        server.close()
        for task in list(connections):  # clients a failing test left connected
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await server.wait_closed()

    loop = asyncio.new_event_loop()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # the test sees it instead of a hang
            found["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="pymap", daemon=True)
    thread.start()
    assert ready.wait(30), "pymap did not start"
    assert "error" not in found, found["error"]
    port = found["port"]
    assert isinstance(port, int)
    config = found["config"]
    assert isinstance(config, Config)
    server = Server(port, user, password, client_context if implicit_tls else None)
    server.loop, server.config = loop, config
    try:
        yield server
    finally:
        server.close_clients()
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        assert "error" not in found, found["error"]


class Proxy:
    """A TCP relay in front of a server that counts and keeps what passes each way.

    It shows what a client really sent and downloaded, without standing in
    for the server: every byte goes to and comes from the real one.
    """

    def __init__(self, port: int) -> None:
        self.target = port
        self.sent = bytearray()  # client to server
        self.received = bytearray()  # server to client
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = [self._listener]
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for sock in (client, upstream):  # relay each chunk at once, as a direct link would
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, upstream]
            for source, sink, record in (
                (client, upstream, self.sent),
                (upstream, client, self.received),
            ):
                pump = threading.Thread(target=self._pump, args=(source, sink, record), daemon=True)
                pump.start()
                self._threads.append(pump)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, record: bytearray) -> None:
        try:
            while chunk := source.recv(65536):
                record += chunk
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._accepting.join(10)
        for pump in self._threads:
            pump.join(10)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key

"""A real SMTP server (aiosmtpd) on a free local port, and settings that send to it."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from lms.jobs import job_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the server accepted: each message parsed, with its envelope. Mailboxes named nobody@
    are refused (550), as a real server refuses an unknown one."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port):
    server = SmtpServer(smtp_port).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(app, smtp_port):
    """The app's job settings, delivering by SMTP to the local server (no TLS, no login)."""
    return job_settings(app).with_overrides(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp_port,
                                            smtp_starttls=False, smtp_timeout=5,
                                            mail_from="Skillmark <no-reply@skillmark.test>")

"""``ticketkit.intake.email``, the mail gateway's public module, and the standard ``email``."""

from __future__ import annotations

import email
import email.message
import subprocess
import sys

import ticketkit.intake
import ticketkit.intake.email as mail_module
from ticketkit.intake import _message


def test_it_re_exports_the_mail_side_of_intake() -> None:
    """Every name is the very object ticketkit.intake exports; __all__ is sorted."""
    assert mail_module.__all__ == sorted(mail_module.__all__)
    for name in mail_module.__all__:
        assert getattr(mail_module, name) is getattr(ticketkit.intake, name), name
    wanted = {"MailGateway", "IngestResult", "IngestSummary", "parse_message", "ingest_stdin"}
    assert wanted | {"ingest_maildir", "ingest_imap", "MailSourceError"} <= set(mail_module.__all__)
    assert "FormIntake" not in mail_module.__all__


def test_the_standard_library_email_is_not_shadowed() -> None:
    """Modules of ticketkit.intake importing ``email`` get the standard library's package."""
    assert email.__name__ == "email"
    assert "ticketkit" not in (email.__file__ or "")
    assert _message.email is email
    assert _message.Message is email.message.Message
    assert sys.modules["email"] is email
    assert sys.modules["ticketkit.intake.email"] is mail_module
    assert ticketkit.intake.email is mail_module  # the submodule, as an attribute of the package


def test_importing_it_first_in_a_fresh_interpreter() -> None:
    """Imported before anything else, it still parses mail with the standard library."""
    code = (
        "import ticketkit.intake.email as m, email, email.policy\n"
        "text = m.parse_message(b'From: a@b.c\\n\\nhi').text\n"
        "print(email.__name__, 'ticketkit' in email.__file__, text)"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["email", "False", "hi"]

"""email-sender against a real SMTP server in the test (aiosmtpd on 127.0.0.1): plain and
HTML messages with attachments, login, refused recipients, the relay's NET gate, header
injection and the recipient bound."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

controller_module = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    """An aiosmtpd handler keeping every message; refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Any]] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == b"robot" and auth_data.password == b"pa55"
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = controller_module.Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
        ready_timeout=30,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _engine(allowed: Path, port: int, **settings: object):
    defaults: dict[str, object] = {
        "allow_localhost": True,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "Reports <reports@llmspell.example>",
    }
    return make_engine(allowed, **{**defaults, **settings})[0]


def test_sends_text_html_and_attachments(allowed: Path, smtp):
    inbox, port = smtp
    (allowed / "report.csv").write_text("tool,calls\nhash,3\n")
    engine = _engine(allowed, port)
    r = run(
        engine,
        f"""return Tool.invoke("email-sender", {{to = {{"ana@example.org", "bo@example.org"}},
            cc = "cy@example.org", bcc = "audit@example.org", subject = "Daily report",
            body = "Numbers attached.", html = "<p>Numbers <b>attached</b>.</p>",
            attachments = {{"{allowed}/report.csv"}}}})""",
    )
    assert r["success"] is True and r["message"] == "sent 'Daily report' to 4 recipients"
    ((sender, rcpts, message),) = inbox.messages
    assert sender == "reports@llmspell.example"
    assert rcpts == ["ana@example.org", "bo@example.org", "cy@example.org", "audit@example.org"]
    assert message["To"] == "ana@example.org, bo@example.org" and message["Cc"] == "cy@example.org"
    assert message["Bcc"] is None and message["Message-ID"] == r["result"]["message_id"]
    assert message.get_body(("plain",)).get_content().strip() == "Numbers attached."
    assert "<b>attached</b>" in message.get_body(("html",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.csv"
    assert attachment.get_content() == "tool,calls\nhash,3\n"


def test_login_and_refused_recipients(allowed: Path, smtp, monkeypatch: pytest.MonkeyPatch):
    inbox, port = smtp
    engine = _engine(allowed, port, smtp_username="robot", smtp_password_env="TEST_SMTP_PASSWORD")
    send = 'return Tool.invoke("email-sender", {to = "x@example.org, y@refused.example", subject = "s", body = "b"})'
    assert "TEST_SMTP_PASSWORD (tools.email_sender.password_env) holds no password" in failure(
        engine, send
    )
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    bad = run(engine, send)
    assert bad["success"] is False and "refused the login: 535" in bad["error"]
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "pa55")
    r = run(engine, send)["result"]
    assert r["recipients"] == ["x@example.org"]
    assert r["refused"] == {"y@refused.example": "550 5.1.1 no such user"}
    assert [m[1] for m in inbox.messages] == [["x@example.org"]]
    none = run(
        engine,
        'return Tool.invoke("email-sender", {to = "z@refused.example", subject = "s", body = "b"})',
    )
    assert none["success"] is False and none["error"] == "every recipient was refused"


def test_gates_and_bad_input_send_nothing(allowed: Path, smtp, tmp_path: Path):
    inbox, port = smtp
    engine = _engine(allowed, port, smtp_max_recipients=2)
    send = 'Tool.invoke("email-sender", {{to = "a@example.org", subject = {}, body = "b"{}}})'
    assert "must not contain line breaks" in failure(
        engine, send.format('"hi\\r\\nBcc: evil@example.org"', "")
    )
    assert "over tools.email_sender.max_recipients (2)" in failure(
        engine, send.format('"s"', ', cc = {"b@example.org", "c@example.org"}')
    )
    assert "is not an email address" in failure(engine, send.format('"s"', ', cc = "nobody"'))
    secret = tmp_path / "secret.txt"
    secret.write_text("keep")
    assert "tools.file_operations.allowed_paths" in failure(
        engine, send.format('"s"', f', attachments = {{"{secret}"}}')
    )
    starttls = _engine(allowed, port, smtp_security="starttls")
    refused = run(starttls, "return " + send.format('"s"', ""))
    assert refused["success"] is False and "does not offer STARTTLS" in refused["error"]
    blocked = make_engine(
        allowed, smtp_host="127.0.0.1", smtp_port=port, smtp_from="a@example.org"
    )[0]
    assert "tools.http_request.allow_localhost = true" in failure(blocked, send.format('"s"', ""))
    assert "tools.email_sender.smtp_host" in failure(
        make_engine(allowed)[0], send.format('"s"', "")
    )
    assert inbox.messages == []

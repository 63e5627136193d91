"""email-sender: one message (text and/or HTML, attachments) through the SMTP relay of
[tools.email_sender] with the standard library's smtplib. Scripts choose the recipients, never
the relay; its host passes the NET gate, attachments the FILE gate; recipients are bounded by
max_recipients and header values may not hold line breaks (no header injection)."""

from __future__ import annotations

import os

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_ATTACHMENTS = 20


def run(params: Params, context: Any) -> ToolResponse:
    settings = context.settings
    if not settings.smtp_host:
        raise ToolError("no SMTP relay is configured (tools.email_sender.smtp_host)")
    context.host(settings.smtp_host)
    to = _addresses(params, "to", required=True)
    cc = _addresses(params, "cc")
    bcc = _addresses(params, "bcc")
    recipients = to + cc + bcc
    if len(recipients) > settings.smtp_max_recipients:
        raise ToolError(
            f"{len(recipients)} recipients, over tools.email_sender.max_recipients "
            f"({settings.smtp_max_recipients})"
        )
    sender = params.text("from", settings.smtp_from or None, aliases=("from_address",))
    if not sender:
        raise ToolError("no sender: give 'from' or set tools.email_sender.from_address")
    _check_address(sender, "from")
    subject = _header(params.text("subject", required=True), "subject")
    body = params.text("body", aliases=("text",))
    html = params.text("html")
    if body is None and html is None:
        raise ToolError("missing required parameter 'body' (or 'html')")
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    reply_to = params.text("reply_to")
    if reply_to:
        _check_address(reply_to, "reply_to")
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> "))
    message.set_content(body if body is not None else "")
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    _attach(message, params.array("attachments"), context)
    refused = _send(message, sender, recipients, settings)
    delivered = [r for r in recipients if r not in refused]
    return ToolResponse(
        result={
            "sent": bool(delivered),
            "message_id": message["Message-ID"],
            "from": sender,
            "recipients": delivered,
            "refused": refused,
        },
        message=f"sent '{subject}' to {len(delivered)} recipients",
        success=bool(delivered),
        error=None if delivered else "every recipient was refused",
    )


def _header(value: str, name: str) -> str:
    if "\r" in value or "\n" in value:
        raise ToolError(f"parameter '{name}' must not contain line breaks")
    return value


def _check_address(value: str, name: str) -> None:
    from email.utils import parseaddr

    _header(value, name)
    address = parseaddr(value)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise ToolError(f"parameter '{name}': '{value}' is not an email address")


def _addresses(params: Params, name: str, required: bool = False) -> list[str]:
    value = params.value(name, required=required)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ToolError(f"parameter '{name}' must be an address or a list of them")
        for part in item.split(","):
            if part.strip():
                _check_address(part.strip(), name)
                out.append(part.strip())
    if required and not out:
        raise ToolError(f"parameter '{name}' must name at least one recipient")
    return out


def _attach(message: Any, paths: list[Any], context: Any) -> None:
    if len(paths) > MAX_ATTACHMENTS:
        raise ToolError(f"at most {MAX_ATTACHMENTS} attachments")
    resolved = []
    for raw in paths:  # every path passes the gate before any file is read
        if not isinstance(raw, str):
            raise ToolError("parameter 'attachments' must list file paths")
        resolved.append((raw, context.path(raw)))
    total = 0
    for raw, path in resolved:
        if not path.is_file():
            raise ToolFailure(f"attachment not found: '{raw}'")
        total += path.stat().st_size
        context.check_size(raw, total)
        import mimetypes

        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, _, sub = kind.partition("/")
        message.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)


def _send(message: Any, sender: str, recipients: list[str], settings: Any) -> dict[str, str]:
    """Send; the recipients the relay refused, with its reply (others were accepted)."""
    import smtplib
    import ssl

    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds
    try:
        if settings.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if settings.smtp_security == "starttls":
                if not client.has_extn("starttls"):
                    raise ToolFailure(
                        f"{host}:{port} does not offer STARTTLS (tools.email_sender.security)"
                    )
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_username:
                password = os.environ.get(settings.smtp_password_env, "")
                if not password:
                    raise ToolError(
                        f"tools.email_sender.username is set but {settings.smtp_password_env} "
                        "(tools.email_sender.password_env) holds no password"
                    )
                client.login(settings.smtp_username, password)
            refused = client.send_message(message, sender, recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        return {r: _reply(code, text) for r, (code, text) in exc.recipients.items()}
    except smtplib.SMTPAuthenticationError as exc:
        raise ToolFailure(
            f"{host}:{port} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise ToolFailure(f"{host}:{port}: {_reply(exc.smtp_code, exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ToolFailure(f"cannot send through {host}:{port}: {exc}") from None
    return {r: _reply(code, text) for r, (code, text) in refused.items()}


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"

"""Mail: a template rendered as plain text + HTML, delivered over SMTP (SMTP_URL: STARTTLS or TLS, with a login when
the URL has one), or, without SMTP_URL, written as an .eml file under VIZTUBE_HOME/mail/ with its links logged
(outside prod). Mails are sent by jobs (shared.services.account_mail), never inside a request: a failed delivery
raises, and the job is retried."""

from __future__ import annotations

import html
import logging
import os
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, unquote, urlsplit

from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "mail_templates"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    links: tuple[str, ...] = ()  # what the dev mailbox logs


def render(name: str, *, to: str, **context: str) -> Mail:
    """`mail_templates/<name>.txt` (a `Subject:` line, a blank line, the body) and `<name>.html`, with `$name`
    placeholders; values are HTML-escaped in the HTML part. Context keys ending in `link` are the mail's links."""
    head, _, body = (TEMPLATES / f"{name}.txt").read_text().partition("\n\n")
    subject = Template(head.removeprefix("Subject:").strip()).substitute(context)
    markup = Template((TEMPLATES / f"{name}.html").read_text()).substitute(
        {key: html.escape(value) for key, value in context.items()})
    links = tuple(value for key, value in context.items() if key.endswith("link"))
    return Mail(to=to, subject=subject, text=Template(body).substitute(context), html=markup, links=links)


def message(mail: Mail, settings: Settings | None = None) -> EmailMessage:
    settings = settings or get_settings()
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(settings.mail_from)[1].rpartition("@")[2] or None)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def deliver(mail: Mail) -> None:
    """Send it (SMTP_URL), or write it to the mail directory; a failure raises (OSError, smtplib's errors)."""
    settings = get_settings()
    msg = message(mail, settings)
    if settings.smtp_url:
        _send(msg, settings)
        log.info("mail %r sent to %s", mail.subject, mail.to)
    else:
        path = _write(msg, settings.mail_dir)
        # Outside prod the links are logged too, so a developer can follow them; prod logs never hold a live token.
        links = "" if settings.stage == "prod" else f"; links: {' '.join(mail.links) or 'none'}"
        log.warning("no SMTP_URL: mail %r to %s written to %s%s", mail.subject, mail.to, path, links)


def _send(msg: EmailMessage, settings: Settings) -> None:
    url = urlsplit(settings.smtp_url or "")
    host = url.hostname or "localhost"
    starttls = "starttls" in parse_qs(url.query, keep_blank_values=True)
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    timeout = settings.smtp_timeout_seconds
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, url.port or (587 if starttls else 25), timeout=timeout)
    with client:
        if starttls:
            client.starttls(context=context)
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


def _write(msg: EmailMessage, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
    partial = path.with_suffix(".part")
    partial.write_bytes(msg.as_bytes())
    os.replace(partial, path)  # a reader of the directory never sees half a mail
    return path

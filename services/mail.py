"""Outgoing mail: SMTP when SMTP_HOST is set, otherwise the outbox table plus a log line carrying the link."""

import html
import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from db.models import OutboxMail
from services.settings import Settings

log = logging.getLogger('portico.mail')


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    text: str
    html: str
    link: str = ''


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        if not self.settings.smtp_host:
            await OutboxMail.create(recipient=mail.recipient, subject=mail.subject, text=mail.text, html=mail.html)
            log.info('Mail to %s kept in the outbox (no SMTP_HOST): %s %s', mail.recipient, mail.subject, mail.link)
            return
        message = EmailMessage()
        message['From'] = self.settings.smtp_from
        message['To'] = mail.recipient
        message['Subject'] = mail.subject
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype='html')
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=self.settings.smtp_password,
            use_tls=self.settings.smtp_tls == 'tls',
            start_tls=self.settings.smtp_tls == 'starttls',
            timeout=30,
        )
        log.info('Mail to %s sent: %s', mail.recipient, mail.subject)


def link_mail(*, recipient: str, subject: str, organization: str, lines: list[str], link: str, action: str) -> Mail:
    """A short message around one link, as plain text and simple HTML, naming the organization."""
    text = '\n\n'.join([*lines, f'{action}: {link}', f'— Portico, for {organization}'])
    paragraphs = ''.join(f'<p>{html.escape(line)}</p>' for line in lines)
    body = (
        f'<html><body style="font-family: sans-serif">{paragraphs}'
        f'<p><a href="{html.escape(link)}">{html.escape(action)}</a></p>'
        f'<p style="color:#666">Portico, for {html.escape(organization)}</p></body></html>'
    )
    return Mail(recipient=recipient, subject=subject, text=text, html=body, link=link)

"""Outgoing mail: SMTP when SMTP_HOST is set. Without it, nothing is sent: the outbox table and the log keep who,
what and when, and never the link, which is a password for 24 to 72 hours. Whoever needs the link then gets it
another way: the acting admin sees it once, the operator runs `python main.py password-link EMAIL`."""

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


WITHHELD = '[link withheld: it is shown once to the admin who sent it]'


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def sends(self) -> bool:
        """Whether mail really leaves (SMTP is configured)."""
        return bool(self.settings.smtp_host)

    async def send(self, mail: Mail) -> None:
        if not self.sends:
            await OutboxMail.create(
                recipient=mail.recipient, subject=mail.subject, text=withhold_link(mail.text, mail.link),
                html=withhold_link(mail.html, html.escape(mail.link)),
            )  # fmt: skip
            log.info('Mail to %s not sent (no SMTP_HOST), noted in the outbox: %s', mail.recipient, mail.subject)
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


def password_mail(*, recipient: str, name: str, organization: str, link: str, inviter: str | None = None) -> Mail:
    """The set-password mail: an invitation from `inviter` (the link lasts 72 hours), or a reset (24 hours)."""
    if inviter:
        subject = f'{inviter} invited you to {organization} on Portico'
        why = (f'{inviter} invited you to {organization} on Portico. Choose your password to get started. '
               'The link works once, for 72 hours.')  # fmt: skip
        action = 'Set your password'
    else:
        subject = f'Reset your Portico password for {organization}'
        why = (f'someone asked to reset your password for {organization}. If it was not you, ignore this message. '
               'The link works once, for 24 hours.')  # fmt: skip
        action = 'Set a new password'
    return link_mail(recipient=recipient, subject=subject, organization=organization, lines=[f'Hello {name},', why],
                     link=link, action=action)  # fmt: skip


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


def withhold_link(text: str, link: str) -> str:
    return text.replace(link, WITHHELD) if link else text

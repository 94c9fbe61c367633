"""The object graph that main.py builds once and hands to the pages."""

from dataclasses import dataclass

from services.mail import Mailer
from services.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    mailer: Mailer

    @classmethod
    def build(cls, settings: Settings) -> 'Services':
        return cls(settings=settings, mailer=Mailer(settings))

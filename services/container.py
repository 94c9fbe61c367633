"""The object graph that main.py builds once and hands to the pages."""

from dataclasses import dataclass

from services.events import EventBus
from services.mail import Mailer
from services.settings import Settings
from services.users import UserDirectory


@dataclass(frozen=True)
class Services:
    settings: Settings
    mailer: Mailer
    events: EventBus
    users: UserDirectory

    @classmethod
    def build(cls, settings: Settings) -> 'Services':
        mailer, events = Mailer(settings), EventBus()
        return cls(
            settings=settings,
            mailer=mailer,
            events=events,
            users=UserDirectory(settings=settings, mailer=mailer, events=events),
        )

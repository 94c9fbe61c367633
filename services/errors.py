"""Errors that services raise and pages translate into words next to a field or in a notification."""


class ServiceError(Exception):
    """A refusal with a message fit to show to the admin as it is."""


class ValidationFailed(ServiceError):
    """Input was rejected; `errors` maps each field name to its message, and nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        # One sentence per field ("Enter a valid email address… Use at least 10 characters."), not ".;".
        super().__init__(' '.join(message if message.endswith(('.', '!', '?')) else f'{message}.'
                                  for message in errors.values()))  # fmt: skip
        self.errors = errors


class NotAuthenticated(ServiceError):
    """The session is gone: logged out, stale epoch, disabled or deleted user."""


class PermissionDenied(ServiceError):
    """The caller is known but may not do this."""


class RateLimited(ServiceError):
    """Too many attempts; try again later."""

"""Stripe-shaped API errors: raise one anywhere in a handler and the router renders it."""


class StripeError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = 'invalid_request_error',
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        stored: bool = False,
        commit: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        # Stripe saves the result of a request that got as far as executing (a declined charge), so an
        # idempotent retry replays the same error instead of charging again; validation errors are not saved.
        self.stored = stored
        # The changes made before the error stand (a declined attempt to pay an invoice is recorded on it).
        self.commit = commit
        # The PaymentIntent a card error happened to, shown in the error as Stripe shows it (`error.payment_intent`).
        self.payment_intent: dict | None = None

    def body(self) -> dict:
        error: dict = {'type': self.type, 'message': self.message}
        if self.code:
            error['code'] = self.code
            error['doc_url'] = f'https://stripe.com/docs/error-codes/{self.code.replace("_", "-")}'
        if self.param:
            error['param'] = self.param
        if self.decline_code:
            error['decline_code'] = self.decline_code
        if self.payment_intent is not None:
            error['payment_intent'] = self.payment_intent
            if self.payment_intent.get('latest_charge'):
                error['charge'] = self.payment_intent['latest_charge']
        return {'error': error}


# Stripe names some objects differently in "No such ..." messages than in their `object` field.
_MISSING_NAMES = {
    'payment_method': 'PaymentMethod',
    'setup_intent': 'setupintent',
    'payment_intent': 'payment_intent',
}


def missing(object_type: str, object_id: str, *, param: str | None = 'id') -> StripeError:
    name = _MISSING_NAMES.get(object_type, object_type)
    return StripeError(f"No such {name}: '{object_id}'", status=404, code='resource_missing', param=param)


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(message, param=param, code=code)


def parameter_missing(param: str) -> StripeError:
    return StripeError(f'Missing required param: {param}.', code='parameter_missing', param=param)


def card_error(message: str, *, code: str, decline_code: str | None = None, param: str | None = None) -> StripeError:
    return StripeError(
        message, status=402, type='card_error', code=code, decline_code=decline_code, param=param, stored=True
    )


def authentication_required() -> StripeError:
    """A payment that waits for the cardholder's 3-D Secure: its PaymentIntent is `requires_action`."""
    error = card_error('Your card was declined. This transaction requires authentication.',
                       code='authentication_required', decline_code='authentication_required')  # fmt: skip
    error.requires_action = True
    return error

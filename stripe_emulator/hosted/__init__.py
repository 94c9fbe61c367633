"""Pages a browser visits (no API key needed): Checkout, the hosted invoice page and its PDF, SEPA mandates, and
3-D Secure."""

from starlette.routing import Route

from . import checkout, invoice, mandate, threeds


def routes() -> list[Route]:
    return [
        Route('/pay/{session_id}', checkout.show, methods=['GET']),
        Route('/pay/{session_id}', checkout.submit, methods=['POST']),
        Route('/invoice/{invoice_id}/{token}', invoice.show, methods=['GET']),
        Route('/invoice/{invoice_id}/{token}', invoice.pay, methods=['POST']),
        Route('/invoice/{invoice_id}/{token}/pdf', invoice.pdf, methods=['GET']),
        Route('/mandate/{mandate_id}/{token}', mandate.show, methods=['GET']),
        Route('/authenticate/{intent_id}', threeds.show, methods=['GET']),
        Route('/authenticate/{intent_id}', threeds.submit, methods=['POST']),
    ]

"""Pages a browser visits (no API key needed): Checkout, the hosted invoice page and the invoice PDF."""

from starlette.routing import Route

from . import checkout, invoice


def routes() -> list[Route]:
    return [
        Route('/pay/{session_id}', checkout.show, methods=['GET']),
        Route('/pay/{session_id}', checkout.submit, methods=['POST']),
        Route('/invoice/{invoice_id}/{token}', invoice.show, methods=['GET']),
        Route('/invoice/{invoice_id}/{token}', invoice.pay, methods=['POST']),
        Route('/invoice/{invoice_id}/{token}/pdf', invoice.pdf, methods=['GET']),
    ]

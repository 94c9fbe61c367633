"""Charges over the API: read-only (payment attempts make them), and the Refunds, Disputes and Mandates around them."""

from ..handlers import lister, retriever
from ..router import Route

retrieve = retriever('charge')
list_charges = lister('charge', '/v1/charges', 'customer', 'payment_intent', 'transfer_group')
retrieve_mandate = retriever('mandate')


ROUTES = [
    Route('GET', '/v1/charges', list_charges, 'ChargeListParams'),
    Route('GET', '/v1/charges/{charge}', retrieve, 'ChargeRetrieveParams'),
    Route('GET', '/v1/mandates/{mandate}', retrieve_mandate, 'MandateRetrieveParams'),
]

"""PaymentIntents and SetupIntents over the API: read-only (they are made by Checkout and invoice payments)."""

from ..handlers import lister, retriever
from ..router import Route

retrieve_payment_intent = retriever('payment_intent')
list_payment_intents = lister('payment_intent', '/v1/payment_intents', 'customer')
retrieve_setup_intent = retriever('setup_intent')
list_setup_intents = lister('setup_intent', '/v1/setup_intents', 'customer', 'payment_method')


ROUTES = [
    Route('GET', '/v1/payment_intents', list_payment_intents, 'PaymentIntentListParams'),
    Route('GET', '/v1/payment_intents/{intent}', retrieve_payment_intent, 'PaymentIntentRetrieveParams'),
    Route('GET', '/v1/setup_intents', list_setup_intents, 'SetupIntentListParams'),
    Route('GET', '/v1/setup_intents/{intent}', retrieve_setup_intent, 'SetupIntentRetrieveParams'),
]

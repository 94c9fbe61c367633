"""A realistic run through every resource the emulator serves, by the real SDK: what the conformance test records.

Three test clocks carry the customers whose time matters (renewals, a failed renewal and its retry, SEPA payments
settling); the Checkout sessions are paid on the emulator's hosted pages, as a browser would post them.
"""

import datetime

import httpx
import pytest
import stripe

JAN_1_2027 = int(datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC).timestamp())
DAY = 86400
CARD = {'card_number': '4242 4242 4242 4242', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'}
IBAN_SUCCEEDS, IBAN_FAILS = 'AT611904300234573201', 'AT861904300235473202'
ADDRESS = {'line1': 'Hauptstraße 1', 'postal_code': '10115', 'city': 'Berlin', 'country': 'DE'}


async def run(v1, hosted: httpx.AsyncClient) -> None:
    prices = await _catalogue(v1)
    await _happy_customer(v1, prices)
    await _failed_renewal(v1, prices)
    await _void_and_incomplete(v1, prices)
    await _dispute(v1, prices)
    await _checkout_by_card(v1, hosted, prices)
    await _sepa(v1, hosted, prices)
    await _three_d_secure(v1, hosted, prices)
    await _pause(v1, prices)
    await _schedule(v1, prices)
    await _off_session_payments(v1)
    await _events(v1)


async def _catalogue(v1) -> dict[str, str]:
    basic = await v1.products.create_async(params={'name': 'Basic', 'metadata': {'tier': '1'}})
    pro = await v1.products.create_async(params={'name': 'Pro', 'description': 'For teams'})
    tokens = await v1.products.create_async(params={'name': 'Token pack', 'unit_label': 'pack'})
    await v1.products.update_async(basic.id, params={'description': 'For one', 'metadata': {'tier': '2'}})
    await v1.products.retrieve_async(pro.id)
    await v1.products.list_async(params={'limit': 10})

    async def price(product, amount, interval=None, **extra) -> str:
        params = {'product': product.id, 'currency': 'usd', 'unit_amount': amount, **extra}
        if interval:
            params['recurring'] = {'interval': interval}
        return (await v1.prices.create_async(params=params)).id

    prices = {
        'basic_monthly': await price(basic, 3000, 'month', lookup_key='basic_monthly'),
        'pro_monthly': await price(pro, 5000, 'month', nickname='Pro monthly'),
        'pro_yearly': await price(pro, 50000, 'year'),
        'token_pack': await price(tokens, 1000, metadata={'tokens': '1000'}),
    }
    await v1.prices.update_async(prices['pro_monthly'], params={'metadata': {'featured': 'yes'}})
    await v1.prices.update_async(
        prices['pro_yearly'], params={'lookup_key': 'basic_monthly', 'transfer_lookup_key': True}
    )
    await v1.prices.retrieve_async(prices['pro_monthly'], params={'expand': ['product']})
    await v1.prices.list_async(params={'expand': ['data.product'], 'limit': 100})
    await v1.prices.list_async(params={'lookup_keys': ['basic_monthly'], 'active': True})
    await v1.prices.list_async(params={'product': pro.id})
    return prices


async def _clocked_customer(v1, name: str, card: str = 'tok_visa', **params):
    clock = await v1.test_helpers.test_clocks.create_async(params={'frozen_time': JAN_1_2027, 'name': name})
    customer = await v1.customers.create_async(
        params={'name': name, 'email': f'{name.lower()}@example.com', 'test_clock': clock.id, **params}
    )
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': card}})
    await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    await v1.customers.update_async(customer.id, params={'invoice_settings': {'default_payment_method': pm.id}})
    return clock, customer, pm


async def _happy_customer(v1, prices) -> None:
    """Tax ids, cards, a subscription upgraded with a preview, renewed by its clock, refunded, then canceled."""
    clock, ada, visa = await _clocked_customer(
        v1, 'Ada', address=ADDRESS, phone='+4930123456', metadata={'org': '1'}, preferred_locales=['de']
    )
    await v1.customers.update_async(ada.id, params={'business_name': 'Acme GmbH', 'shipping': {
        'name': 'Ada', 'address': ADDRESS}})  # fmt: skip
    tax_id = await v1.customers.tax_ids.create_async(ada.id, params={'type': 'eu_vat', 'value': 'DE123456789'})
    extra = await v1.customers.tax_ids.create_async(ada.id, params={'type': 'eu_vat', 'value': 'DE987654321'})
    await v1.customers.tax_ids.retrieve_async(ada.id, tax_id.id)
    await v1.customers.tax_ids.list_async(ada.id)
    await v1.customers.tax_ids.delete_async(ada.id, extra.id)

    await v1.payment_methods.update_async(
        visa.id,
        params={'billing_details': {'name': 'Ada Lovelace', 'email': 'ada@example.com'}, 'metadata': {'a': 'b'}},
    )
    await v1.payment_methods.retrieve_async(visa.id)
    mastercard = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_mastercard'}})
    await v1.payment_methods.attach_async(mastercard.id, params={'customer': ada.id})
    await v1.payment_methods.list_async(params={'customer': ada.id, 'type': 'card'})
    await v1.customers.payment_methods.list_async(ada.id)
    await v1.customers.payment_methods.retrieve_async(ada.id, mastercard.id)
    await v1.payment_methods.detach_async(mastercard.id)
    await v1.customers.retrieve_async(
        ada.id, params={'expand': ['test_clock', 'invoice_settings.default_payment_method', 'tax_ids']}
    )
    await v1.customers.list_async(params={'limit': 5})

    subscription = await v1.subscriptions.create_async(params={
        'customer': ada.id, 'items': [{'price': prices['pro_monthly'], 'quantity': 2}], 'metadata': {'org': '1'},
        'expand': ['latest_invoice'],
    })  # fmt: skip
    await v1.subscriptions.retrieve_async(subscription.id)
    await v1.subscriptions.list_async(params={'customer': ada.id})
    await v1.customers.retrieve_async(ada.id, params={'expand': ['subscriptions']})
    invoice_id = subscription.latest_invoice.id
    await v1.invoices.retrieve_async(invoice_id, params={'expand': ['payments', 'customer']})
    await v1.invoices.line_items.list_async(invoice_id)
    await v1.invoices.list_async(params={'customer': ada.id})

    item = subscription['items'].data[0]
    when = JAN_1_2027 + 10 * DAY
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': when})
    change = {'items': [{'id': item.id, 'quantity': 3}], 'proration_date': when}
    await v1.invoices.create_preview_async(params={'subscription': subscription.id, 'subscription_details': change})
    await v1.invoices.create_preview_async(params={
        'subscription': subscription.id, 'preview_mode': 'recurring',
        'subscription_details': {'items': [{'id': item.id, 'price': prices['pro_yearly']}]},
    })  # fmt: skip
    await v1.invoices.create_preview_async(params={
        'customer': ada.id, 'subscription_details': {'items': [{'price': prices['basic_monthly']}]},
    })  # fmt: skip
    await v1.subscriptions.update_async(subscription.id, params={
        'items': [{'id': item.id, 'quantity': 3}], 'proration_date': when, 'proration_behavior': 'always_invoice',
    })  # fmt: skip
    await v1.subscriptions.update_async(subscription.id, params={'metadata': {'seats': '3'}})

    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 32 * DAY})
    await v1.test_helpers.test_clocks.retrieve_async(clock.id)
    await v1.test_helpers.test_clocks.list_async()
    intents = await v1.payment_intents.list_async(params={'customer': ada.id})
    intent = await v1.payment_intents.retrieve_async(
        intents.data[0].id, params={'expand': ['latest_charge', 'payment_method']}
    )
    charges = await v1.charges.list_async(params={'customer': ada.id})
    await v1.charges.list_async(params={'payment_intent': intent.id})
    await v1.refunds.create_async(params={
        'payment_intent': intent.id, 'amount': 500, 'reason': 'requested_by_customer', 'metadata': {'ticket': '7'},
    })  # fmt: skip
    refund = await v1.refunds.create_async(params={'charge': intent.latest_charge.id})
    await v1.refunds.retrieve_async(refund.id)
    await v1.refunds.list_async(params={'charge': intent.latest_charge.id})
    await v1.refunds.list_async(params={'payment_intent': intent.id})
    await v1.charges.retrieve_async(intent.latest_charge.id, params={'expand': ['refunds']})
    await v1.charges.retrieve_async(charges.data[-1].id)

    await v1.subscriptions.update_async(subscription.id, params={'cancel_at_period_end': True})
    await v1.subscriptions.update_async(subscription.id, params={'cancel_at_period_end': False})
    await v1.subscriptions.cancel_async(subscription.id, params={'cancellation_details': {'comment': 'done'}})
    await v1.subscriptions.list_async(params={'customer': ada.id, 'status': 'all'})


async def _failed_renewal(v1, prices) -> None:
    """A renewal charged to tok_chargeCustomerFail (4000 0000 0000 0341) fails, is retried, then paid by hand."""
    clock, bob, visa = await _clocked_customer(v1, 'Bob')
    subscription = await v1.subscriptions.create_async(
        params={'customer': bob.id, 'items': [{'price': prices['basic_monthly']}]}
    )
    failing = await v1.payment_methods.create_async(
        params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
    )
    await v1.payment_methods.attach_async(failing.id, params={'customer': bob.id})
    await v1.customers.update_async(bob.id, params={'invoice_settings': {'default_payment_method': failing.id}})
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 32 * DAY})
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 36 * DAY})
    await v1.subscriptions.retrieve_async(subscription.id)
    [open_invoice] = (await v1.invoices.list_async(params={'customer': bob.id, 'status': 'open'})).data
    intents = await v1.payment_intents.list_async(params={'customer': bob.id})
    await v1.payment_intents.retrieve_async(intents.data[0].id, params={'expand': ['latest_charge']})
    await v1.charges.list_async(params={'customer': bob.id})
    with pytest.raises(stripe.CardError):  # a change to pay now, refused: a 402 whose error names the intent
        await v1.subscriptions.update_async(subscription.id, params={
            'items': [{'id': subscription['items'].data[0].id, 'quantity': 2}],
            'proration_behavior': 'always_invoice', 'payment_behavior': 'error_if_incomplete',
        })  # fmt: skip
    await v1.invoices.pay_async(open_invoice.id, params={'payment_method': visa.id})
    await v1.invoices.retrieve_async(open_invoice.id, params={'expand': ['payments']})
    await v1.payment_methods.detach_async(failing.id)


async def _three_d_secure(v1, hosted: httpx.AsyncClient, prices) -> None:
    """A renewal that waits for 3-D Secure (4000 0027 6000 3184), authenticated on the hosted page; then a change held
    back by pending_if_incomplete until its payment is authenticated too."""
    clock, dora, _ = await _clocked_customer(v1, 'Dora', card='tok_authenticationRequired')
    subscription = await v1.subscriptions.create_async(
        params={
            'customer': dora.id,
            'items': [{'price': prices['basic_monthly']}],
            'payment_behavior': 'default_incomplete',
        }  # fmt: skip
    )
    await v1.invoices.pay_async(subscription.latest_invoice, params={'paid_out_of_band': True})
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 32 * DAY})
    waiting = (await v1.payment_intents.list_async(params={'customer': dora.id})).data[0]
    await v1.payment_intents.retrieve_async(waiting.id)
    await hosted.post(waiting.next_action.redirect_to_url.url, data={'authentication': 'complete'})
    held = await v1.subscriptions.update_async(subscription.id, params={
        'items': [{'id': subscription['items'].data[0].id, 'quantity': 2}], 'proration_behavior': 'always_invoice',
        'payment_behavior': 'pending_if_incomplete', 'expand': ['latest_invoice'],
    })  # fmt: skip
    intent = (await v1.payment_intents.list_async(params={'customer': dora.id})).data[0]
    await hosted.post(intent.next_action.redirect_to_url.url, data={'authentication': 'fail'})
    await v1.payment_intents.retrieve_async(intent.id)
    await v1.subscriptions.retrieve_async(held.id)


async def _pause(v1, prices) -> None:
    """A subscription paused mid-period (its unused time credited), past a renewal date, then resumed."""
    clock, erin, _ = await _clocked_customer(v1, 'Erin')
    subscription = await v1.subscriptions.create_async(
        params={'customer': erin.id, 'items': [{'price': prices['basic_monthly']}]}
    )
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 10 * DAY})
    await v1.subscriptions.pause_async(subscription.id)
    await v1.subscriptions.retrieve_async(subscription.id)
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 40 * DAY})
    await v1.subscriptions.resume_async(subscription.id, params={'expand': ['latest_invoice']})


async def _schedule(v1, prices) -> None:
    """A downgrade at the period's end through a subscription schedule, applied at the renewal, then released; and
    a second schedule released before its boundary."""
    clock, fay, _ = await _clocked_customer(v1, 'Fay')
    subscription = await v1.subscriptions.create_async(
        params={'customer': fay.id, 'items': [{'price': prices['pro_monthly'], 'quantity': 3}]}
    )
    item = subscription['items'].data[0]
    schedule = await v1.subscription_schedules.create_async(params={'from_subscription': subscription.id})
    await v1.subscription_schedules.update_async(schedule.id, params={'end_behavior': 'release', 'phases': [
        {'items': [{'price': prices['pro_monthly'], 'quantity': 3}], 'start_date': item.current_period_start,
         'end_date': item.current_period_end},
        {'items': [{'price': prices['basic_monthly'], 'quantity': 2}], 'iterations': 1},
    ]})  # fmt: skip
    await v1.subscription_schedules.list_async(params={'customer': fay.id})
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 32 * DAY})
    await v1.subscription_schedules.retrieve_async(schedule.id, params={'expand': ['subscription']})
    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 60 * DAY})
    await v1.subscription_schedules.retrieve_async(schedule.id)
    again = await v1.subscription_schedules.create_async(params={'from_subscription': subscription.id})
    await v1.subscription_schedules.release_async(again.id)


async def _off_session_payments(v1) -> None:
    """Saved cards charged off session at once (an auto top-up): one succeeds, one is declined, and one asks for
    3-D Secure, which off session is a decline too; both 402s carry their PaymentIntent."""
    for name, card in (('Gus', 'tok_visa'), ('Hal', 'tok_chargeCustomerFail'), ('Ivy', 'tok_authenticationRequired')):
        _, customer, pm = await _clocked_customer(v1, name, card=card)
        params = {
            'amount': 2000, 'currency': 'usd', 'customer': customer.id, 'payment_method': pm.id, 'confirm': True,
            'off_session': True, 'allowed_payment_method_types': ['card'], 'description': 'Auto top-up: 2 packs',
            'metadata': {'purpose': 'auto_top_up', 'tokens': '2000'},
        }  # fmt: skip
        try:
            intent = await v1.payment_intents.create_async(params=params, options={'idempotency_key': name})
        except stripe.CardError as declined:
            intent = declined.error.payment_intent
        await v1.payment_intents.retrieve_async(intent.id, params={'expand': ['latest_charge']})


async def _void_and_incomplete(v1, prices) -> None:
    """A first invoice the card refuses: the subscription is incomplete; its invoice is voided; the customer goes."""
    carol = await v1.customers.create_async(params={'name': 'Carol'})
    failing = await v1.payment_methods.create_async(
        params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
    )
    await v1.payment_methods.attach_async(failing.id, params={'customer': carol.id})
    subscription = await v1.subscriptions.create_async(params={
        'customer': carol.id, 'items': [{'price': prices['pro_monthly']}], 'default_payment_method': failing.id,
    })  # fmt: skip
    await v1.invoices.void_invoice_async(subscription.latest_invoice)
    await v1.subscriptions.cancel_async(subscription.id)
    await v1.customers.delete_async(carol.id)
    await v1.customers.retrieve_async(carol.id)


async def _dispute(v1, prices) -> None:
    """tok_createDispute: the first invoice's charge succeeds, then is disputed; the dispute is accepted (closed)."""
    dave = await v1.customers.create_async(params={'name': 'Dave'})
    card = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_createDispute'}})
    await v1.payment_methods.attach_async(card.id, params={'customer': dave.id})
    await v1.subscriptions.create_async(params={
        'customer': dave.id, 'items': [{'price': prices['basic_monthly']}], 'default_payment_method': card.id,
    })  # fmt: skip
    [charge] = (await v1.charges.list_async(params={'customer': dave.id})).data
    [dispute] = (await v1.disputes.list_async(params={'charge': charge.id})).data
    await v1.disputes.list_async(params={'payment_intent': charge.payment_intent})
    await v1.disputes.retrieve_async(dispute.id)
    await v1.disputes.close_async(dispute.id)
    await v1.disputes.list_async()
    await v1.charges.retrieve_async(charge.id)


async def _checkout_by_card(v1, hosted: httpx.AsyncClient, prices) -> None:
    """Checkout in subscription, payment (with a post-payment invoice) and setup mode, and an expired session."""
    erin = await v1.customers.create_async(params={'name': 'Erin', 'email': 'erin@example.com'})
    success = 'https://portico.example/done?s={CHECKOUT_SESSION_ID}'
    subscription_session = await v1.checkout.sessions.create_async(params={
        'mode': 'subscription', 'customer': erin.id, 'success_url': success, 'cancel_url': 'https://portico.example',
        'line_items': [{'price': prices['pro_monthly'], 'quantity': 2}], 'metadata': {'org': '5'},
        'subscription_data': {'metadata': {'org': '5'}},
    })  # fmt: skip
    await _pay(hosted, subscription_session.url, CARD)
    await v1.checkout.sessions.retrieve_async(
        subscription_session.id, params={'expand': ['line_items', 'subscription', 'invoice']}
    )
    await v1.checkout.sessions.line_items.list_async(subscription_session.id)

    payment_session = await v1.checkout.sessions.create_async(params={
        'mode': 'payment', 'customer': erin.id, 'success_url': success, 'invoice_creation': {'enabled': True},
        'line_items': [{'price': prices['token_pack'], 'quantity': 3}],
    })  # fmt: skip
    await _pay(hosted, payment_session.url, {**CARD, 'method': 'card'})
    await v1.checkout.sessions.retrieve_async(payment_session.id, params={'expand': ['payment_intent']})
    inline_session = await v1.checkout.sessions.create_async(params={  # as Portico sells token packs
        'mode': 'payment', 'customer': erin.id, 'success_url': success,
        'line_items': [{'price_data': {'currency': 'usd', 'unit_amount': 1000,
                                       'product_data': {'name': 'Token pack (1,000 tokens)'}}, 'quantity': 3}],
        'custom_text': {'submit': {'message': 'Buy 3,000 tokens'}, 'after_submit': {'message': 'For Erin.'}},
    })  # fmt: skip
    await _pay(hosted, inline_session.url, {**CARD, 'method': 'card'})
    await v1.checkout.sessions.retrieve_async(inline_session.id, params={'expand': ['line_items']})

    setup_session = await v1.checkout.sessions.create_async(
        params={'mode': 'setup', 'currency': 'usd', 'customer': erin.id, 'success_url': success}
    )
    await _pay(hosted, setup_session.url, {**CARD, 'method': 'card'})
    setup = await v1.checkout.sessions.retrieve_async(setup_session.id)
    await v1.setup_intents.retrieve_async(setup.setup_intent, params={'expand': ['payment_method']})
    await v1.setup_intents.list_async(params={'customer': erin.id})

    expiring = await v1.checkout.sessions.create_async(params={
        'mode': 'payment', 'success_url': success, 'line_items': [{'price': prices['token_pack'], 'quantity': 1}],
    })  # fmt: skip
    await v1.checkout.sessions.expire_async(expiring.id)
    await v1.checkout.sessions.list_async(params={'customer': erin.id})
    await v1.checkout.sessions.list_async(params={'limit': 3})
    await v1.payment_intents.list_async(params={'customer': erin.id})
    await v1.invoices.list_async(params={'customer': erin.id})


async def _sepa(v1, hosted: httpx.AsyncClient, prices) -> None:
    """SEPA Direct Debit for a test-clock customer: a payment that succeeds and one that fails when the clock passes
    their settling time, a saved account (setup mode, multi-use mandate), and the mandates."""
    clock = await v1.test_helpers.test_clocks.create_async(params={'frozen_time': JAN_1_2027, 'name': 'SEPA'})
    fritz = await v1.customers.create_async(
        params={'name': 'Fritz', 'email': 'fritz@example.com', 'test_clock': clock.id}
    )
    success = 'https://portico.example/done'
    sessions = []
    for iban in (IBAN_SUCCEEDS, IBAN_FAILS):
        session = await v1.checkout.sessions.create_async(params={
            'mode': 'payment', 'customer': fritz.id, 'success_url': success,
            'line_items': [{'price': prices['token_pack'], 'quantity': 2}],
        })  # fmt: skip
        await _pay(hosted, session.url, {'method': 'sepa_debit', 'iban': iban, 'account_holder': 'Fritz Müller'})
        sessions.append(session)
    setup_session = await v1.checkout.sessions.create_async(
        params={'mode': 'setup', 'currency': 'eur', 'customer': fritz.id, 'success_url': success}
    )
    await _pay(hosted, setup_session.url, {'method': 'sepa_debit', 'iban': IBAN_SUCCEEDS, 'account_holder': 'Fritz'})

    processing = await v1.checkout.sessions.retrieve_async(sessions[0].id, params={'expand': ['payment_intent']})
    charge = await v1.charges.retrieve_async(processing.payment_intent.latest_charge)
    await v1.mandates.retrieve_async(charge.payment_method_details.sepa_debit.mandate)
    setup = await v1.checkout.sessions.retrieve_async(setup_session.id, params={'expand': ['setup_intent']})
    await v1.mandates.retrieve_async(setup.setup_intent.mandate)
    await v1.payment_methods.list_async(params={'customer': fritz.id})

    await v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + DAY})
    for session in sessions:
        settled = await v1.checkout.sessions.retrieve_async(session.id)
        await v1.payment_intents.retrieve_async(settled.payment_intent, params={'expand': ['latest_charge']})
    await v1.charges.list_async(params={'customer': fritz.id})
    await v1.test_helpers.test_clocks.delete_async(clock.id)


async def _pay(hosted: httpx.AsyncClient, url: str, form: dict) -> None:
    page = await hosted.post(url, data=form)
    assert page.status_code == 303, f'{url}: {page.status_code} {page.text[:500]}'


async def _events(v1) -> None:
    """Every event, page by page (their `data.object`s are checked too), and the filters."""
    page = await v1.events.list_async(params={'limit': 100})
    while page.has_more:
        page = await v1.events.list_async(params={'limit': 100, 'starting_after': page.data[-1].id})
    await v1.events.retrieve_async(page.data[-1].id)
    await v1.events.list_async(params={'type': 'invoice.paid', 'limit': 3})
    await v1.events.list_async(params={'types': ['charge.refunded', 'charge.dispute.closed']})

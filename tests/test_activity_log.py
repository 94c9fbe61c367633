"""Issue 14, point 11: the Activity log reads in words, for every kind of event, old ones included, and wraps."""

import re
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User as UserSim

from components.activity_sentences import ACTIONS, sentence
from db.models import AuditEvent
from services.container import Services
from tests.billing_helpers import pay, subscribed
from tests.helpers import click, create_admin, log_in, session_of

ROOT = Path(__file__).resolve().parent.parent
RAW_ID = re.compile(r'\b(?:cs|pi|sub|in|ch|re|dp|cus|pm|seti)_\w{6,}')
MAX = {'name': 'Max Member', 'email': 'max@acme.example', 'role': 'member', 'is_enabled': True}
ORGANIZATION = {'name': 'Acme Corp', 'billing_email': 'ada@acme.example', 'receipt_emails': '', 'address_line1': '',
                'address_line2': '', 'postal_code': '', 'city': '', 'country': '',
                'tax_id': 'NL123456789B01'}  # fmt: skip
SUBSCRIPTION = {'plan': 'flexible', 'interval': 'month', 'seats': 3, 'cancel_at_period_end': False}
OPERATOR = 'Operator (command line)'


def event(action: str, *, actor: str = 'Ada Admin', target_type: str = 'subscription', label: str = '',
          before=None, after=None) -> AuditEvent:  # fmt: skip
    return AuditEvent(actor_name=actor, action=action, target_type=target_type, target_label=label, before=before,
                      after=after)  # fmt: skip


# The shapes the services write now, one or more per action.
NOW = [
    (event('user.added', target_type='user', label='max@acme.example', after=MAX),
     'Ada Admin added Max Member (member)'),
    (event('user.edited', target_type='user', before=MAX, after={**MAX, 'role': 'admin'}),
     "Ada Admin changed Max Member's role to admin"),
    (event('user.edited', target_type='user', before=MAX, after={**MAX, 'name': 'Maxine', 'email': 'mx@acme.example'}),
     "Ada Admin changed Max Member's name to Maxine and email to mx@acme.example"),
    (event('user.enabled', target_type='user', before={**MAX, 'is_enabled': False}, after=MAX),
     'Ada Admin enabled Max Member'),
    (event('user.disabled', target_type='user', before=MAX, after={**MAX, 'is_enabled': False}),
     'Ada Admin disabled Max Member'),
    (event('user.deleted', target_type='user', label='max@acme.example', before=MAX), 'Ada Admin deleted Max Member'),
    (event('user.password_email_sent', target_type='user', label='max@acme.example'),
     'Ada Admin sent a password email to max@acme.example'),
    (event('user.password_link_made', actor=OPERATOR, target_type='user', label='max@acme.example'),
     'Operator (command line) made a set-password link for max@acme.example'),
    (event('organization.edited', target_type='organization', label='Acme', before=ORGANIZATION,
           after={**ORGANIZATION, 'name': 'Acme', 'billing_email': 'billing@acme.example'}),
     "Ada Admin changed the organization's name to Acme and the billing email to billing@acme.example"),
    (event('organization.edited', target_type='organization', before=ORGANIZATION,
           after={**ORGANIZATION, 'city': 'Utrecht', 'country': 'NL', 'receipt_emails': 'books@acme.example',
                  'tax_id': ''}),
     'Ada Admin changed the receipt emails to books@acme.example, the city to Utrecht, the country to Netherlands '
     'and cleared the VAT/tax ID'),
    (event('organization.edited', target_type='organization', before=ORGANIZATION,  # keys in jsonb's order
           after=dict(sorted({**ORGANIZATION, 'name': 'Acme', 'city': 'Utrecht'}.items(),
                             key=lambda item: (len(item[0]), item[0])))),
     "Ada Admin changed the organization's name to Acme and the city to Utrecht"),
    (event('billing.checkout_started', label='Flexible',
           after={'plan': 'Flexible', 'interval': 'month', 'seats': 3, 'total': '$30.00'}),
     'Ada Admin started a checkout for Flexible, monthly, 3 seats'),
    (event('billing.checkout_completed.subscription', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$30.00', 'plan': 'flexible', 'plan_name': 'Flexible'}),
     'Stripe confirmed the payment of $30.00 for the Flexible subscription'),
    (event('billing.checkout_completed.payment', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$30.00', 'tokens': 3000, 'paid': True, 'buyer': 'Ada Admin'}),
     'Ada Admin bought 3,000 tokens for $30.00'),
    (event('billing.checkout_completed.payment', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$30.00', 'tokens': 3000, 'paid': False, 'buyer': 'Ada Admin'}),
     'Ada Admin bought 3,000 tokens for $30.00; the bank has yet to confirm the payment'),
    (event('billing.checkout_completed.setup', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$0.00'}),
     'Stripe saved a new card'),
    (event('billing.token_checkout_started', target_type='tokens', label='cs_test_a1b2c3d4',
           after={'packs': 3, 'tokens': 3000, 'total': '$30.00'}),
     'Ada Admin started a checkout for 3,000 tokens ($30.00)'),
    (event('billing.tokens_credited', actor='Stripe', target_type='tokens', label='cs_test_a1b2c3d4',
           after={'tokens': 3000, 'description': 'Bought 3 token pack(s): 3,000 tokens', 'amount': '$30.00'}),
     'Stripe confirmed the payment of $30.00; 3,000 tokens were added'),
    (event('billing.tokens_bought', target_type='tokens', label='pi_a1b2c3d4',
           after={'tokens': 3000, 'description': 'Bought 3 token packs: 3,000 tokens', 'amount': '$30.00'}),
     'Ada Admin bought 3,000 tokens for $30.00 with the default card'),
    (event('billing.token_payment_failed', actor='Stripe', target_type='tokens', label='cs_test_a1b2c3d4',
           after={'tokens': 0, 'description': 'Payment failed: 3,000 tokens were not credited', 'ordered': 3000,
                  'amount': '$30.00'}),
     'Stripe reported that the bank debit of $30.00 for 3,000 tokens failed; no tokens were added'),
    (event('billing.tokens_refunded', actor='Stripe', target_type='tokens', label='re_a1b2c3d4e5',
           after={'tokens': -1000, 'description': 'Refund of $10.00: 1,000 tokens taken back', 'amount': '$10.00'}),
     'Stripe refunded $10.00 of a token purchase; 1,000 tokens were taken back'),
    (event('billing.tokens_disputed', actor='Stripe', target_type='tokens', label='dp_a1b2c3d4e5',
           after={'tokens': -1, 'description': 'Dispute lost: 1 tokens taken back', 'amount': '$30.00'}),
     'Stripe reported a lost dispute over a token purchase of $30.00; 1 token was taken back'),
    (event('billing.subscription_changed', label='Flexible', before=SUBSCRIPTION,
           after={'plan': 'flexible', 'plan_name': 'Flexible', 'interval': 'month', 'seats': 5,
                  'charged_today': '$13.33'}),
     'Ada Admin changed the subscription to Flexible, monthly, 5 seats; $13.33 was charged today'),
    (event('billing.change_awaits_confirmation', label='Flexible', before=SUBSCRIPTION,
           after={'plan': 'professional', 'plan_name': 'Professional', 'interval': 'year', 'seats': 5,
                  'charged_today': '$0.00'}),
     'Ada Admin changed the subscription to Professional, yearly, 5 seats, which applies once the payment is '
     'confirmed'),
    (event('billing.change_refused', before=SUBSCRIPTION,
           after={'plan': 'professional', 'plan_name': 'Professional', 'interval': 'year', 'seats': 5,
                  'reason': 'Your card was declined.'}),
     'Ada Admin tried to change the subscription to Professional, yearly, 5 seats, but the payment was refused: '
     'Your card was declined'),
    (event('billing.change_scheduled', label='Flexible', before=SUBSCRIPTION,
           after={'plan': 'starter', 'plan_name': 'Starter', 'interval': 'month', 'seats': 2,
                  'on': 'March 3, 2027'}),
     'Ada Admin scheduled a change of the subscription to Starter, monthly, 2 seats on March 3, 2027'),
    (event('billing.scheduled_change_cancelled', label='Flexible', after=SUBSCRIPTION,
           before={'plan': 'starter', 'interval': 'month', 'seats': 2, 'plan_name': 'Starter'}),
     'Ada Admin cancelled the scheduled change of the subscription to Starter, monthly, 2 seats'),
    (event('billing.cancellation_scheduled', label='Flexible', before=SUBSCRIPTION,
           after={'ends_on': 'March 3, 2027', 'reason': 'Moving on'}),
     'Ada Admin cancelled the Flexible subscription, which ends on March 3, 2027 (reason: Moving on)'),
    (event('billing.cancellation_removed', label='Flexible', before={**SUBSCRIPTION, 'ends_on': 'March 3, 2027'},
           after={'renews_on': 'March 3, 2027'}),
     'Ada Admin removed the scheduled cancellation of the Flexible subscription, which renews on March 3, 2027'),
    (event('billing.subscription_paused', label='Flexible', before={'status': 'active'},
           after={'status': 'paused', 'resumes_on': 'May 1, 2027'}),
     'Ada Admin paused the Flexible subscription until May 1, 2027'),
    (event('billing.subscription_paused', label='Flexible', before={'status': 'active'},
           after={'status': 'paused', 'resumes_on': 'when an admin resumes it'}),
     'Ada Admin paused the Flexible subscription until an admin resumes it'),
    (event('billing.subscription_resumed', label='Flexible', before={'status': 'paused'}, after={'status': 'active'}),
     'Ada Admin resumed the Flexible subscription'),
    (event('billing.subscription_resumed', actor='Stripe', after={'status': 'active', 'when': 'the pause ended'}),
     'The subscription resumed because the pause ended'),
    (event('billing.card_updated', target_type='payment_method', label='Visa •••• 4242',
           before={'expires': '4/2030', 'name': 'Ada'}, after={'expires': '12/2031', 'name': 'Ada Admin'}),
     'Ada Admin edited the card Visa ending in 4242: it now expires 12/2031 and the cardholder name is now Ada Admin'),
    (event('billing.default_card_set', target_type='payment_method', label='Amex •••• 0005'),
     'Ada Admin made the card American Express ending in 0005 the default'),
    (event('billing.card_removed', target_type='payment_method', label='Visa •••• 4242'),
     'Ada Admin removed the card Visa ending in 4242'),
    (event('billing.invoice_paid', target_type='invoice', label='in_a1b2c3d4e5', after={'amount': '$30.00'}),
     'Ada Admin paid the owed invoice of $30.00'),
    (event('billing.resynced', after={'differences': ['none']}),
     'Ada Admin resynced billing with Stripe; nothing differed'),
    (event('billing.resynced', after={'differences': ['stripe_subscription_id: sub_a1b2c3d4 → sub_e5f6g7h8',
                                                      'seats: 2 → 3', 'status: active → past_due']}),
     'Ada Admin resynced billing with Stripe, which corrected the subscription, the seats and the status'),
    (event('billing.auto_top_up_set', target_type='tokens', before={'below': None, 'packs': 1, 'monthly_cap': 3},
           after={'below': 500, 'packs': 2, 'monthly_cap': 3}),
     'Ada Admin turned auto top-up on: 2 packs whenever the balance falls below 500 tokens, at most 3 times a month'),
    (event('billing.auto_top_up_off', target_type='tokens', before={'below': 500}), 'Ada Admin turned auto top-up off'),
    (event('billing.auto_top_up', actor='Stripe', target_type='tokens', label='pi_a1b2c3d4e5',
           after={'tokens': 2000, 'description': 'Auto top-up: 2 packs (2,000 tokens)', 'amount': '$20.00'}),
     'Stripe confirmed an auto top-up of 2,000 tokens for $20.00'),
    (event('billing.auto_top_up_failed', actor='Stripe', target_type='tokens',
           after={'reason': 'Your card was declined.'}),
     'Stripe refused an auto top-up, which is now off: Your card was declined'),
    (event('api_key.created', actor=OPERATOR, target_type='api_key', label='CI (pk_live_ab12…)'),
     'Operator (command line) created the API key CI (pk_live_ab12…)'),
    (event('api_key.revoked', actor=OPERATOR, target_type='api_key', label='CI (pk_live_ab12…)'),
     'Operator (command line) revoked the API key CI (pk_live_ab12…)'),
    (event('oidc_client.created', actor=OPERATOR, target_type='oidc_client', label='Wiki (wiki-7f3a)'),
     'Operator (command line) registered the sign-in client Wiki (wiki-7f3a)'),
    (event('oidc_client.revoked', actor=OPERATOR, target_type='oidc_client', label='Wiki (wiki-7f3a)'),
     'Operator (command line) revoked the sign-in client Wiki (wiki-7f3a)'),
]  # fmt: skip

# The shapes that events already in databases have: fewer keys, plan ids for names, raw ids as targets.
OLD = [
    (event('user.added', target_type='user', label='max@acme.example'), 'Ada Admin added max@acme.example'),
    (event('user.edited', target_type='user', label='max@acme.example', before=MAX, after=MAX),
     'Ada Admin edited Max Member'),
    (event('organization.edited', target_type='organization', before={'name': 'Acme', 'tax_id': 'NL1'},
           after={'name': 'Acme', 'tax_id': ''}),
     'Ada Admin cleared the VAT/tax ID'),
    (event('billing.checkout_completed.subscription', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$20.00', 'plan': 'flexible'}),
     'Stripe confirmed the payment of $20.00 for the Flexible subscription'),
    (event('billing.checkout_completed.payment', actor='Stripe', target_type='checkout', label='cs_test_a1b2c3d4',
           after={'total': '$30.00', 'tokens': 3000}),
     'Stripe confirmed the payment of $30.00 for 3,000 tokens'),
    (event('billing.token_checkout_started', target_type='tokens', after={'packs': 3, 'tokens': 3000,
                                                                          'total': '$30.00'}),
     'Ada Admin started a checkout for 3,000 tokens ($30.00)'),
    (event('billing.tokens_credited', actor='Stripe', target_type='tokens', label='cs_test_a1b2c3d4',
           after={'tokens': 3000, 'description': 'Bought 3 token pack(s): 3,000 tokens'}),
     'Stripe confirmed the payment; 3,000 tokens were added'),
    (event('billing.token_payment_failed', actor='Stripe', target_type='tokens', label='cs_test_a1b2c3d4',
           after={'tokens': 0, 'description': 'Payment failed: 3,000 tokens were not credited'}),
     'Stripe reported that the bank debit for tokens failed; no tokens were added'),
    (event('billing.tokens_refunded', actor='Stripe', target_type='tokens', label='re_a1b2c3d4e5',
           after={'tokens': -1000, 'description': 'Refund of $10.00: 1,000 tokens taken back'}),
     'Stripe refunded a token purchase; 1,000 tokens were taken back'),
    (event('billing.subscription_changed', label='Professional', before=SUBSCRIPTION,
           after={'plan': 'professional', 'interval': 'year', 'seats': 5, 'charged_today': '$0.00'}),
     'Ada Admin changed the subscription to Professional, yearly, 5 seats'),
    (event('billing.scheduled_change_cancelled', label='Flexible', after=SUBSCRIPTION,
           before={'plan': 'starter', 'interval': 'month', 'seats': 2}),
     'Ada Admin cancelled the scheduled change of the subscription to Starter, monthly, 2 seats'),
    (event('billing.change_refused', before=SUBSCRIPTION,
           after={'plan': 'professional', 'interval': 'year', 'seats': 5,
                  'reason': "No such PaymentMethod: 'pm_1Abc234567'."}),
     'Ada Admin tried to change the subscription to Professional, yearly, 5 seats, but the payment was refused: '
     'No such PaymentMethod'),
    (event('billing.cancellation_scheduled', label='', before=SUBSCRIPTION, after={'ends_on': '—', 'reason': ''}),
     'Ada Admin cancelled the Flexible subscription'),
    (event('billing.auto_top_up', actor='Stripe', target_type='tokens', label='pi_a1b2c3d4e5',
           after={'tokens': 2000, 'description': 'Auto top-up: 2 packs (2,000 tokens)'}),
     'Stripe confirmed an auto top-up of 2,000 tokens'),
    (event('billing.card_removed', target_type='payment_method', label='pm_a1b2c3d4e5'), 'Ada Admin removed a card'),
]  # fmt: skip


@pytest.mark.parametrize(('audited', 'expected'), NOW + OLD, ids=lambda value: getattr(value, 'action', ''))
def test_each_event_reads_as_a_sentence(audited: AuditEvent, expected: str) -> None:
    assert sentence(audited) == expected


def test_every_action_of_the_table_has_a_sentence_above() -> None:
    assert {audited.action for audited, _ in NOW} == set(ACTIONS)


def test_every_action_the_services_record_is_in_the_table() -> None:
    """Scan the services for the actions they audit: a new one without a sentence fails here."""
    recorded = set()
    for path in (ROOT / 'services').rglob('*.py'):
        for line in path.read_text().splitlines():
            if re.search(r'\baction\b|audit_action|_audit\(|_record\(', line):
                recorded |= set(re.findall(r"'((?:user|organization|billing|api_key|oidc_client)\.[a-z_.]+)'", line))
    recorded.discard('billing.checkout_completed.')  # f'billing.checkout_completed.{checkout["mode"]}':
    recorded |= {f'billing.checkout_completed.{mode}' for mode in ('subscription', 'payment', 'setup')}
    assert len(recorded) > 30
    assert recorded - set(ACTIONS) == set()


@pytest.mark.parametrize('action', sorted(ACTIONS))
@pytest.mark.parametrize(
    ('before', 'after'),
    [
        (None, None),
        ({}, {}),
        ('"text"', ['a', 'list']),
        ({'seats': None, 'tokens': 'many'}, {'total': None, 'plan': 3}),
    ],
)
def test_any_shape_of_any_action_reads_without_raw_ids_or_gaps(action: str, before, after) -> None:
    label = 'max@acme.example' if action.startswith('user.') else 'cs_test_a1b2c3d4e5'
    text = sentence(event(action, label='' if action.startswith(('api_key', 'oidc')) else label, before=before,
                          after=after))  # fmt: skip
    assert text and text == text.strip() and '  ' not in text
    assert not RAW_ID.search(text) and '→' not in text and 'None' not in text
    assert not re.search(r'\b(of|for|to|until|the)$|[:;,]$', text), text


async def test_a_token_purchase_names_its_buyer_and_no_event_shows_a_raw_id(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible', seats=2)
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=3)
    response = await pay(emulator_app, url)
    assert response.status_code == 303, response.text
    await services.billing.checkouts.fulfill(response.headers['location'].split('checkout_session=')[1])
    await services.billing.subscriptions.cancel(session=await session_of(admin), reason='Moving on')
    said = [sentence(audited) for audited in await services.organizations.activity(session=await session_of(admin))]
    assert 'Ada Admin bought 3,000 tokens for $30.00' in said
    assert 'Stripe confirmed the payment of $30.00; 3,000 tokens were added' in said
    assert 'Ada Admin started a checkout for 3,000 tokens ($30.00)' in said
    assert 'Ada Admin started a checkout for Flexible, monthly, 2 seats' in said
    assert 'Stripe confirmed the payment of $20.00 for the Flexible subscription' in said
    assert any(text.startswith('Ada Admin cancelled the Flexible subscription, which ends on ') for text in said)
    assert not [text for text in said if RAW_ID.search(text) or '→' in text or 'None' in text]


async def open_activity(user: UserSim) -> None:
    user.find(kind=ui.expansion, content='Activity').elements.pop().value = True


async def edit_organization(user: UserSim, **values: str) -> None:
    user.find(kind=ui.button, marker='edit-organization').click()
    await user.should_see('Save')
    for field, value in values.items():
        user.find(marker=f'organization-{field}').elements.pop().value = value
    click(user, 'Save')
    await user.should_see('Organization saved.', retries=20)


async def test_the_log_on_admin_says_in_words_what_an_edit_did(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await edit_organization(user, billing_email='Billing@Acme.example')
    await open_activity(user)
    await user.should_see('Ada Admin changed the billing email to billing@acme.example', retries=20)
    await user.should_not_see('billing_email')
    await user.should_not_see('→')


async def test_a_long_entry_is_shown_whole_and_wraps(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    name = ' '.join(['Internationale Vereinigung der Beispielunternehmen'] * 3) + ' Ende'  # 157 characters
    await edit_organization(user, name=name, billing_email=f'{"x" * 60}@acme.example')
    await open_activity(user)
    said = f"Ada Admin changed the organization's name to {name} and the billing email to {'x' * 60}@acme.example"
    await user.should_see(said, retries=20)  # the whole sentence, in one element: nothing cut off
    [entry] = [element for element in user.find(marker='activity-entry').elements if element.text == said]
    assert 'ellipsis' not in entry.classes and {'break-words', 'min-w-0'} <= set(entry.classes)

"""What each audit event says in the "Activity" log: one sentence in plain words, made from the event alone.

Fields are named with the labels of the forms that edit them, money reads as recorded ("$30.00"), counts have
thousands separators, and no raw Stripe id (cs_…, pi_…, sub_…) is shown. Events written before these sentences
existed have the same keys or fewer: a value that is missing leaves its words out.
"""

import re
from collections.abc import Callable
from dataclasses import fields
from functools import cache

from components.dialog_kit import brand
from components.organization_section import FIELD_LABELS as ORGANIZATION_LABELS
from db.models import AuditEvent
from services.forms import ROLE_CHOICES, UserForm
from services.organizations import countries
from services.plans import Interval
from services.words import plural

USER_LABELS = {item.name: item.metadata['label'] for item in fields(UserForm)}
# What a resync's differences (`mirror.comparable`) are about, in the words of the Subscription section.
RESYNCED_FIELDS = {
    'stripe_subscription_id': 'the subscription',
    'plan_id': 'the plan',
    'interval': 'the billing interval',
    'status': 'the status',
    'seats': 'the seats',
    'current_period_end': 'the renewal date',
    'cancel_at_period_end': 'the scheduled cancellation',
    'cancel_at': 'the scheduled cancellation',
}
STRIPE_ID = re.compile(r'[\'"]?\b(?:acct|card|ch|cs|cus|dp|evt|in|pi|pm|price|prod|py|re|seti|si|sub|sub_sched|tok|txn)'
                       r'_[A-Za-z0-9_]{6,}[\'"]?')  # fmt: skip


def sentence(event: AuditEvent) -> str:
    """'Ada Admin changed the billing email to billing@acme.example', for any event, of any age."""
    words = ACTIONS.get(event.action)
    if words is not None:
        try:
            return words(event)
        except (AttributeError, KeyError, TypeError, ValueError):
            pass  # a value of a shape this sentence does not know: say what happened, without the details
    return f'{event.actor_name}: {event.action.replace(".", ", ").replace("_", " ")}'


# ----- users and the organization ----------------------------------------------------------------------------------


def _user_added(event: AuditEvent) -> str:
    role = _after(event).get('role')
    return f'{event.actor_name} added {_user(event)}' + (f' ({_role(role)})' if role else '')


def _user_edited(event: AuditEvent) -> str:
    before, after = _before(event), _after(event)
    changed = [f'{_lower(USER_LABELS[key])} to {_role(after[key]) if key == "role" else after[key]}'
               for key in USER_LABELS if key in after and before.get(key) != after[key]]  # fmt: skip
    if not changed:
        return f'{event.actor_name} edited {_user(event)}'
    return f'{event.actor_name} changed {_possessive(_user(event))} {_join(changed)}'


def _organization_edited(event: AuditEvent) -> str:
    before, after = _before(event), _after(event)
    changed, cleared = [], []
    order = list(ORGANIZATION_LABELS)  # the form's order: PostgreSQL's jsonb keeps no order of its own
    for key in sorted(after, key=lambda key: order.index(key) if key in order else len(order)):
        value = after[key] or ''
        if (before.get(key) or '') == value:
            continue
        field = _field(ORGANIZATION_LABELS.get(key, key.replace('_', ' ')), owner='organization')
        if value:
            changed.append(f'{field} to {_country(value) if key == "country" else value}')
        else:
            cleared.append(field)
    clauses = [f'changed {clause}' if number == 0 else clause for number, clause in enumerate(changed)]
    clauses += [f'cleared {clause}' if number == 0 else clause for number, clause in enumerate(cleared)]
    return f'{event.actor_name} {_join(clauses) if clauses else "edited the organization"}'


def _user(event: AuditEvent) -> str:
    """The user's name as it was before the change, else their email."""
    return (_before(event) or _after(event)).get('name') or event.target_label or 'a user'


def _role(value: str) -> str:
    return ROLE_CHOICES.get(value, value).lower()


def _country(code: str) -> str:
    return _countries().get(code, code)


@cache
def _countries() -> dict[str, str]:
    return countries()


# ----- subscriptions ------------------------------------------------------------------------------------------------


def _checkout_started(event: AuditEvent) -> str:
    return f'{event.actor_name} started a checkout for {_subscription(_after(event))}'


def _subscription_paid(event: AuditEvent) -> str:
    after = _after(event)
    plan = f'the {_plan_name(after["plan"])} subscription' if after.get('plan') else 'the subscription'
    if not _nonzero(after.get('total')):
        return f'{event.actor_name} confirmed {plan}'
    return f'{event.actor_name} confirmed the payment of {after["total"]} for {plan}'


def _changed(event: AuditEvent) -> str:
    after = _after(event)
    charged = f'; {after["charged_today"]} was charged today' if _nonzero(after.get('charged_today')) else ''
    return f'{event.actor_name} changed the subscription to {_subscription(after)}{charged}'


def _awaits_confirmation(event: AuditEvent) -> str:
    return (f'{event.actor_name} changed the subscription to {_subscription(_after(event))}, '
            'which applies once the payment is confirmed')  # fmt: skip


def _refused(event: AuditEvent) -> str:
    after = _after(event)
    reason = f': {_reason(after["reason"])}' if after.get('reason') else ''
    return (f'{event.actor_name} tried to change the subscription to {_subscription(after)}, but the payment '
            f'was refused{reason}')  # fmt: skip


def _change_scheduled(event: AuditEvent) -> str:
    after = _after(event)
    when = f' on {after["on"]}' if _date(after.get('on')) else ' at the end of the period'
    return f'{event.actor_name} scheduled a change of the subscription to {_subscription(after)}{when}'


def _scheduled_change_cancelled(event: AuditEvent) -> str:
    before = _before(event)
    change = f' to {_subscription(before)}' if before.get('plan') else ''
    return f'{event.actor_name} cancelled the scheduled change of the subscription{change}'


def _cancellation_scheduled(event: AuditEvent) -> str:
    after = _after(event)
    ends = f', which ends on {after["ends_on"]}' if _date(after.get('ends_on')) else ''
    reason = f' (reason: {after["reason"]})' if after.get('reason') else ''
    return f'{event.actor_name} cancelled {_the_subscription(event)}{ends}{reason}'


def _cancellation_removed(event: AuditEvent) -> str:
    after = _after(event)
    renews = f', which renews on {after["renews_on"]}' if _date(after.get('renews_on')) else ''
    return f'{event.actor_name} removed the scheduled cancellation of {_the_subscription(event)}{renews}'


def _paused(event: AuditEvent) -> str:
    resumes = str(_after(event).get('resumes_on') or '')
    until = ' until an admin resumes it' if resumes.startswith('when') or not _date(resumes) else f' until {resumes}'
    return f'{event.actor_name} paused {_the_subscription(event)}{until}'


def _resumed(event: AuditEvent) -> str:
    if when := _after(event).get('when'):  # housekeeping, when a pause for some periods is over
        return f'The subscription resumed because {when}'
    return f'{event.actor_name} resumed {_the_subscription(event)}'


def _resynced(event: AuditEvent) -> str:
    differences = [str(text).split(':', 1)[0] for text in _after(event).get('differences') or [] if text != 'none']
    corrected = list(dict.fromkeys(RESYNCED_FIELDS.get(field, field.replace('_', ' ')) for field in differences))
    if not corrected:
        return f'{event.actor_name} resynced billing with Stripe; nothing differed'
    return f'{event.actor_name} resynced billing with Stripe, which corrected {_join(corrected)}'


def _subscription(data: dict) -> str:
    """'Flexible, monthly, 3 seats'."""
    interval = Interval.of(data.get('interval'))
    parts = [_plan_name(data.get('plan_name') or data.get('plan')), interval.adjective if interval else '',
             _count(data.get('seats'), 'seat')]  # fmt: skip
    return ', '.join(part for part in parts if part) or 'another plan'


def _the_subscription(event: AuditEvent) -> str:
    """'the Flexible subscription': its plan is the event's target (the plan at the time) or in its summary."""
    label = event.target_label if event.target_type == 'subscription' else ''
    plan = ('' if STRIPE_ID.search(label) else label) or _before(event).get('plan')
    return f'the {_plan_name(plan)} subscription' if plan else 'the subscription'


def _plan_name(plan: object) -> str:
    """A plan's name; an older event has the plan's id ('flexible') where a newer one has its name."""
    text = str(plan or '').replace('_', ' ')
    return text[:1].upper() + text[1:]


# ----- tokens -------------------------------------------------------------------------------------------------------


def _token_checkout_started(event: AuditEvent) -> str:
    after = _after(event)
    total = f' ({after["total"]})' if after.get('total') else ''
    return f'{event.actor_name} started a checkout for {_tokens(after.get("tokens"))}{total}'


def _tokens_paid(event: AuditEvent) -> str:
    """A token checkout completed: who bought it, when the purchase recorded its buyer."""
    after = _after(event)
    tokens, price = after.get('tokens'), f' for {after["total"]}' if after.get('total') else ''
    pending = '; the bank has yet to confirm the payment' if after.get('paid') is False else ''
    if after.get('buyer') and tokens:
        return f'{after["buyer"]} bought {_tokens(tokens)}{price}{pending}'
    if pending:
        return f'{event.actor_name} completed a checkout{price}{pending}'
    bought = f' for {_tokens(tokens)}' if tokens else ''
    return f'{event.actor_name} confirmed the payment{_of(after, "total")}{bought}'


def _tokens_bought(event: AuditEvent) -> str:
    """Tokens bought with the default card, credited by the buyer's own request (not by Stripe's webhook)."""
    after = _after(event)
    price = f' for {after["amount"]}' if after.get('amount') else ''
    return f'{event.actor_name} bought {_tokens(after.get("tokens"))}{price} with the default card'


def _tokens_credited(event: AuditEvent) -> str:
    after = _after(event)
    return f'{event.actor_name} confirmed the payment{_of(after)}; {_were(after.get("tokens"), "added")}'


def _token_payment_failed(event: AuditEvent) -> str:
    after = _after(event)
    ordered = f' for {_tokens(after["ordered"])}' if after.get('ordered') else ' for tokens'
    return f'{event.actor_name} reported that the bank debit{_of(after)}{ordered} failed; no tokens were added'


def _tokens_refunded(event: AuditEvent) -> str:
    after = _after(event)
    refunded = f'{after["amount"]} of a token purchase' if after.get('amount') else 'a token purchase'
    return f'{event.actor_name} refunded {refunded}; {_were(after.get("tokens"), "taken back")}'


def _tokens_disputed(event: AuditEvent) -> str:
    after = _after(event)
    return (f'{event.actor_name} reported a lost dispute over a token purchase{_of(after)}; '
            f'{_were(after.get("tokens"), "taken back")}')  # fmt: skip


def _auto_top_up(event: AuditEvent) -> str:
    after = _after(event)
    price = f' for {after["amount"]}' if after.get('amount') else ''
    return f'{event.actor_name} confirmed an auto top-up of {_tokens(after.get("tokens"))}{price}'


def _auto_top_up_failed(event: AuditEvent) -> str:
    reason = _after(event).get('reason')
    return f'{event.actor_name} refused an auto top-up, which is now off' + (f': {_reason(reason)}' if reason else '')


def _auto_top_up_set(event: AuditEvent) -> str:
    after = _after(event)
    if not all(isinstance(after.get(key), int) for key in ('below', 'packs', 'monthly_cap')):
        return f'{event.actor_name} turned auto top-up on'
    return (
        f'{event.actor_name} turned auto top-up on: {_count(after.get("packs"), "pack")} whenever the balance '
        f'falls below {_tokens(after.get("below"))}, at most {_count(after.get("monthly_cap"), "time")} a month'
    )


def _tokens(number: object) -> str:
    return _count(abs(number) if isinstance(number, int) else number, 'token') or 'tokens'


def _were(number: object, done: str) -> str:
    """'3,000 tokens were added', '1 token was taken back'."""
    return f'{_tokens(number)} {"was" if number in (1, -1) else "were"} {done}'


def _of(after: dict, key: str = 'amount') -> str:
    return f' of {after[key]}' if after.get(key) else ''


# ----- cards and invoices -------------------------------------------------------------------------------------------


def _card_updated(event: AuditEvent) -> str:
    before, after = _before(event), _after(event)
    clauses = []
    if after.get('expires') and after['expires'] != before.get('expires'):
        clauses.append(f'it now expires {_expiry(after["expires"])}')
    if 'name' in after and after['name'] != before.get('name'):
        clauses.append(
            f'the cardholder name is now {after["name"]}' if after['name'] else 'the cardholder name is cleared'
        )
    return f'{event.actor_name} edited {_the_card(event)}' + (f': {_join(clauses)}' if clauses else '')


def _the_card(event: AuditEvent) -> str:
    """'the card Visa ending in 4242', from the card's label 'Visa •••• 4242'."""
    if match := re.fullmatch(r'(.+?) •••• (\d{4})', event.target_label or ''):
        return f'the card {brand(match[1].lower())} ending in {match[2]}'
    return 'a card'


def _expiry(expires: str) -> str:
    month, _, year = str(expires).partition('/')
    return f'{month.zfill(2)}/{year}' if month.isdigit() and year else str(expires)


def _invoice_paid(event: AuditEvent) -> str:
    amount = _after(event).get('amount')
    return f'{event.actor_name} paid the owed invoice' + (f' of {amount}' if amount else '')


# ----- the words around the values ----------------------------------------------------------------------------------


def _before(event: AuditEvent) -> dict:
    return event.before if isinstance(event.before, dict) else {}


def _after(event: AuditEvent) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _join(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return ' and '.join(part for part in (', '.join(parts[:-1]), parts[-1]) if part) if parts else ''


def _lower(label: str) -> str:
    """A label inside a sentence: 'Billing email' → 'billing email', but 'VAT/tax ID' stays; '(optional)' goes."""
    label = label.removesuffix(' (optional)')
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _field(label: str, *, owner: str) -> str:
    """'the billing email'; 'Organization name' of the organization is 'the organization's name'."""
    words = _lower(label)
    return f"the {owner}'s {words.removeprefix(owner + ' ')}" if words.startswith(owner + ' ') else f'the {words}'


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith('s') else f"{name}'s"


def _count(number: object, noun: str) -> str:
    """'3,000 tokens', '1 seat'; nothing when the number is missing."""
    if not isinstance(number, int) or isinstance(number, bool):
        return ''
    return plural(number, noun)


def _nonzero(money: object) -> bool:
    return bool(re.search(r'[1-9]', str(money or '')))


def _date(text: object) -> bool:
    return bool(text) and text != '—'


def _reason(text: object) -> str:
    """Stripe's message, without any id it may quote, and without its full stop (the sentence has its own)."""
    return re.sub(r'\s{2,}', ' ', STRIPE_ID.sub('', str(text))).strip().rstrip('.:;, ')


def _by_operator(verb: str, thing: str) -> Callable[[AuditEvent], str]:
    return lambda event: f'{event.actor_name} {verb} {thing} {event.target_label}'.rstrip()


ACTIONS: dict[str, Callable[[AuditEvent], str]] = {
    'user.added': _user_added,
    'user.edited': _user_edited,
    'user.enabled': lambda event: f'{event.actor_name} enabled {_user(event)}',
    'user.disabled': lambda event: f'{event.actor_name} disabled {_user(event)}',
    'user.deleted': lambda event: f'{event.actor_name} deleted {_user(event)}',
    'user.password_email_sent': lambda event: f'{event.actor_name} sent a password email to {event.target_label}',
    'user.password_link_made': lambda event: f'{event.actor_name} made a set-password link for {event.target_label}',
    'organization.edited': _organization_edited,
    'billing.checkout_started': _checkout_started,
    'billing.checkout_completed.subscription': _subscription_paid,
    'billing.checkout_completed.payment': _tokens_paid,
    'billing.checkout_completed.setup': lambda event: f'{event.actor_name} saved a new card',
    'billing.token_checkout_started': _token_checkout_started,
    'billing.tokens_credited': _tokens_credited,
    'billing.tokens_bought': _tokens_bought,
    'billing.token_payment_failed': _token_payment_failed,
    'billing.tokens_refunded': _tokens_refunded,
    'billing.tokens_disputed': _tokens_disputed,
    'billing.subscription_changed': _changed,
    'billing.change_awaits_confirmation': _awaits_confirmation,
    'billing.change_refused': _refused,
    'billing.change_scheduled': _change_scheduled,
    'billing.scheduled_change_cancelled': _scheduled_change_cancelled,
    'billing.cancellation_scheduled': _cancellation_scheduled,
    'billing.cancellation_removed': _cancellation_removed,
    'billing.subscription_paused': _paused,
    'billing.subscription_resumed': _resumed,
    'billing.card_updated': _card_updated,
    'billing.default_card_set': lambda event: f'{event.actor_name} made {_the_card(event)} the default',
    'billing.card_removed': lambda event: f'{event.actor_name} removed {_the_card(event)}',
    'billing.invoice_paid': _invoice_paid,
    'billing.resynced': _resynced,
    'billing.auto_top_up_set': _auto_top_up_set,
    'billing.auto_top_up_off': lambda event: f'{event.actor_name} turned auto top-up off',
    'billing.auto_top_up': _auto_top_up,
    'billing.auto_top_up_failed': _auto_top_up_failed,
    # Operators' actions on the command line: they concern the whole Portico, not one organization's log.
    'api_key.created': _by_operator('created', 'the API key'),
    'api_key.revoked': _by_operator('revoked', 'the API key'),
    'oidc_client.created': _by_operator('registered', 'the sign-in client'),
    'oidc_client.revoked': _by_operator('revoked', 'the sign-in client'),
}

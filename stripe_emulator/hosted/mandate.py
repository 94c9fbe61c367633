"""The page a SEPA Direct Debit mandate's `url` shows: what the customer agreed to, and when."""

import datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..emulator import Emulator
from .layout import brand, esc, not_found, page, token_matches


async def show(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context()
    mandate = ctx.store.get(request.path_params['mandate_id'], 'mandate')
    if mandate is None or not token_matches(ctx.hosted_token(mandate['id']), request.path_params['token']):
        return not_found('Mandate')
    pm = ctx.store.get(mandate['payment_method'], 'payment_method') or {}
    account = pm.get('sepa_debit') or {}
    holder = (pm.get('billing_details') or {}).get('name') or ''
    accepted = mandate['customer_acceptance']['accepted_at']
    when = datetime.datetime.fromtimestamp(accepted, datetime.UTC).strftime('%b %-d, %Y') if accepted else ''
    details = mandate['payment_method_details']['sepa_debit']
    kind = 'One payment' if mandate['type'] == 'single_use' else 'Recurring payments'
    name = esc(ctx.config.account_name)
    body = f"""<section class="summary">{brand(ctx.config.account_name)}<h1>SEPA Direct Debit mandate</h1>
<p class="amount">{esc(details['reference'])}</p><p class="muted">Accepted {esc(when)}</p></section>
<section class="pay"><div class="card"><h2>Mandate</h2>
<table><tbody>
<tr><td>Creditor</td><td class="num">{name}</td></tr>
<tr><td>Account holder</td><td class="num">{esc(holder)}</td></tr>
<tr><td>Account</td><td class="num">{esc(account.get('country', ''))} •••• {esc(account.get('last4', ''))}</td></tr>
<tr><td>Type</td><td class="num">{kind}</td></tr>
<tr><td>Status</td><td class="num">{esc(mandate['status'])}</td></tr>
</tbody></table>
<p class="mandate">By signing this mandate, the account holder authorised {name} and Stripe, its payment service
provider, to send instructions to the bank to debit the account, and the bank to debit the account in accordance with
those instructions. The account holder is entitled to a refund from the bank under the terms and conditions of the
agreement with the bank; a refund must be claimed within 8 weeks starting from the date on which the account was
debited.</p></div></section>"""
    return HTMLResponse(page('SEPA Direct Debit mandate', body))

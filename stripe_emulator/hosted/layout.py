"""The frame and style shared by the hosted pages: plain HTML, a little CSS in Stripe's spirit."""

import hmac
from html import escape

from starlette.responses import HTMLResponse

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:#1a1f36;background:#f6f9fc;-webkit-font-smoothing:antialiased}
main{max-width:960px;margin:0 auto;padding:48px 24px;display:flex;gap:64px;flex-wrap:wrap}
.summary,.pay{flex:1 1 380px;min-width:300px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:32px;font-weight:600}
.brand a{color:#697386;text-decoration:none;font-weight:500}.brand a:hover{color:#1a1f36}
.badge{font-size:11px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;padding:2px 8px;border-radius:4px;
  background:#ffde92;color:#983705}
.badge.paid,.badge.complete{background:#d7f7c2;color:#05690d}.badge.open{background:#cff5f6;color:#0055bc}
.badge.void,.badge.expired,.badge.uncollectible{background:#ebeef1;color:#545969}
h1{font-size:16px;font-weight:500;color:#697386;margin:0 0 4px}
.amount{font-size:36px;font-weight:650;letter-spacing:-.02em;margin:0}
.amount small{font-size:15px;font-weight:500;color:#697386;letter-spacing:0}
.lines{list-style:none;margin:28px 0 0;padding:0}
.lines li{display:flex;justify-content:space-between;gap:16px;padding:12px 0;border-bottom:1px solid #e3e8ee}
.lines .muted,.muted{color:#697386;font-size:13px}
.total{display:flex;justify-content:space-between;padding:14px 0;font-weight:600}
.card{background:#fff;border-radius:10px;box-shadow:0 2px 5px rgba(60,66,87,.08),0 1px 1px rgba(0,0,0,.06);
  padding:28px}
h2{font-size:18px;font-weight:600;margin:0 0 20px}
label{display:block;font-size:13px;font-weight:500;color:#30313d;margin:16px 0 6px}
input{width:100%;font:inherit;padding:10px 12px;border:1px solid #e0e0e6;border-radius:6px;background:#fff;
  box-shadow:0 1px 1px rgba(0,0,0,.03);outline:none;transition:border-color .15s,box-shadow .15s}
input:focus{border-color:#635bff;box-shadow:0 0 0 3px rgba(99,91,255,.25)}
input[aria-invalid=true]{border-color:#df1b41}
.row{display:flex;gap:12px}.row>div{flex:1}
.field-error{color:#df1b41;font-size:13px;margin:6px 0 0}
.alert{background:#fff0f1;border:1px solid #ffd1d6;color:#a41c4e;border-radius:6px;padding:10px 12px;margin-bottom:8px}
button{width:100%;margin-top:24px;font:inherit;font-weight:600;color:#fff;background:#635bff;border:0;border-radius:6px;
  padding:12px;cursor:pointer;box-shadow:0 1px 2px rgba(0,0,0,.12)}
button:hover{background:#5851ea}button:focus-visible{outline:3px solid rgba(99,91,255,.45);outline-offset:2px}
a.button{display:block;text-align:center;margin-top:24px;padding:12px;border-radius:6px;background:#635bff;color:#fff;
  font-weight:600;text-decoration:none}
.test-cards{margin-top:20px;font-size:12px;color:#697386}
fieldset.methods{border:0;padding:0;margin:0 0 8px;display:flex;gap:12px;flex-wrap:wrap}
fieldset.methods legend{font-size:18px;font-weight:600;margin:0 0 14px;padding:0}
label.method{flex:1 1 140px;display:flex;align-items:center;gap:10px;margin:0;padding:12px;border:1px solid #e0e0e6;
  border-radius:6px;cursor:pointer;font-size:15px;color:#1a1f36}
label.method input{width:auto;margin:0;box-shadow:none;accent-color:#635bff}
label.method:has(input:checked){border-color:#635bff;box-shadow:0 0 0 1px #635bff}
label.method:has(input:focus-visible){outline:3px solid rgba(99,91,255,.45);outline-offset:2px}
#pay-form:has(#method-sepa:checked) #card-fields,#pay-form:has(#method-sepa:checked) .for-card{display:none}
#pay-form:has(#method-card:checked) #sepa-fields,#pay-form:has(#method-card:checked) .for-sepa{display:none}
.mandate{font-size:12px;color:#697386;margin:16px 0 0}
footer{text-align:center;color:#5c6677;font-size:12px;padding:0 0 32px}
table{width:100%;border-collapse:collapse;margin-top:20px}
th,td{text-align:left;padding:10px 0;border-bottom:1px solid #e3e8ee}
th{font-size:12px;color:#697386;font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;white-space:nowrap;padding-left:12px}
"""


def page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>{body}</main>
<footer>Stripe emulator &middot; test mode &middot; no real payments are made</footer>
</body>
</html>"""


def brand(account_name: str, *, back_url: str | None = None) -> str:
    """The account name with a test-mode badge, and a way back (Checkout's "Cancel") when there is one."""
    back = f'<a href="{esc(back_url)}" aria-label="Cancel">&larr; Cancel</a>' if back_url else ''
    return f'<div class="brand">{back}<span>{esc(account_name)}</span><span class="badge">Test mode</span></div>'


def not_found(what: str) -> HTMLResponse:
    """The 404 page of a hosted URL whose object (or token) is unknown."""
    return HTMLResponse(page('Not found', f'<div class="card"><h2>{esc(what)} not found</h2></div>'), status_code=404)


def esc(value: object) -> str:
    return escape('' if value is None else str(value), quote=True)


def field(
    name: str, label: str, *, value: str = '', error: str | None = None, placeholder: str = '', extra: str = ''
) -> str:
    """A labelled input; an error is announced and tied to the input for screen readers."""
    field_id = name.replace('_', '-')
    described = f' aria-invalid="true" aria-describedby="{field_id}-error"' if error else ''
    message = f'<p class="field-error" id="{field_id}-error" role="alert">{esc(error)}</p>' if error else ''
    attributes = f'id="{field_id}" name="{name}" value="{esc(value)}" placeholder="{esc(placeholder)}"'
    return f'<label for="{field_id}">{esc(label)}</label><input {attributes}{described} {extra}>{message}'


def token_matches(expected: str, given: str) -> bool:
    # Bytes: compare_digest refuses str with characters outside ASCII, and a URL may carry any.
    return hmac.compare_digest(expected.encode(), given.encode('utf-8', 'surrogatepass'))

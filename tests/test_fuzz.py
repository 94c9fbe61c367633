"""Schemathesis against the running portal: Portico's plain HTTP routes and pages (Sign in with Portico's among
them), and the Stripe emulator's API and hosted pages, with no credentials and with wrong ones. No request may get a
5xx, and the log holds no traceback.

The OpenAPI document is built here from the emulator's own route table and the portal's route list, with every
parameter a free string, so that the fuzzer also sends what no SDK would. The emulator keeps its state in its own
SQLite file whatever DATABASE_URL says, so on PostgreSQL only the portal's routes are fuzzed again (CI runs both).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from stripe_emulator.resources import ROUTES
from tests.conftest import POSTGRES_URL, LiveServer

EMULATOR = '/emulator/stripe'
FREE_FORM = {'type': 'object', 'additionalProperties': {'type': 'string'}}
# What the portal serves over plain HTTP without a session: pages (GET) and the few form and webhook endpoints.
PORTICO_PAGES = {
    '/': [],
    '/login': [],
    '/forgot-password': [],
    '/setup': [],
    '/help': [],
    '/admin': ['checkout_session'],
    '/admin/subscriptions': ['canceled'],
    '/admin/subscriptions/complete': ['session_id'],
    '/set-password/{token}': [],
    '/login/complete': ['ticket', 'next'],
    '/.well-known/openid-configuration': [],
    '/oauth/jwks': [],
    '/oauth/authorize': [
        'response_type',
        'client_id',
        'redirect_uri',
        'scope',
        'state',
        'nonce',
        'code_challenge',
        'code_challenge_method',
        'prompt',
        'max_age',
        'portico_login_after',
    ],
    '/oauth/logout': ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state'],
    '/oauth/logout/confirm': [],
}
OAUTH_FORMS = ('/oauth/token', '/oauth/revoke', '/oauth/logout', '/oauth/userinfo')  # POSTed forms, any fields
HOSTED = {
    ('GET', '/pay/{session_id}'),
    ('POST', '/pay/{session_id}'),
    ('GET', '/invoice/{invoice_id}/{token}'),
    ('POST', '/invoice/{invoice_id}/{token}'),
    ('GET', '/invoice/{invoice_id}/{token}/pdf'),
}


def openapi() -> dict:
    paths: dict[str, dict] = {}

    def add(method: str, path: str, *, query: list[str] = (), form: bool = False, headers: list[str] = ()) -> None:
        parameters = [_parameter('path', name) for name in re.findall(r'\{(\w+)\}', path)]
        parameters += [_parameter('query', name) for name in query]
        parameters += [_parameter('header', name) for name in headers]
        operation: dict = {'parameters': parameters, 'responses': {'default': {'description': 'any'}}}
        if form:
            operation['requestBody'] = {'content': {'application/x-www-form-urlencoded': {'schema': FREE_FORM}}}
        paths.setdefault(path, {})[method.lower()] = operation

    for path, query in PORTICO_PAGES.items():
        add('GET', path, query=query)
    add('POST', '/logout', form=True)
    for path in OAUTH_FORMS:
        add('POST', path, form=True, headers=['Authorization'])
    add('GET', '/oauth/userinfo', headers=['Authorization'])
    paths['/stripe/webhook'] = {'post': {
        'parameters': [_parameter('header', 'Stripe-Signature')],
        'requestBody': {'content': {'application/json': {'schema': {'type': 'object'}}}},
        'responses': {'default': {'description': 'any'}},
    }}  # fmt: skip
    for route in ROUTES:
        query = ['limit', 'starting_after', 'ending_before', 'expand[]'] if route.method != 'POST' else []
        add(route.method, EMULATOR + route.path, query=query, form=route.method == 'POST', headers=['Authorization'])
    for method, path in HOSTED:
        add(method, EMULATOR + path, form=method == 'POST')
    if POSTGRES_URL:
        paths = {path: operations for path, operations in paths.items() if not path.startswith(EMULATOR)}
    return {'openapi': '3.0.3', 'info': {'title': 'Portico, as seen by a stranger', 'version': '1'}, 'paths': paths}


def _parameter(where: str, name: str) -> dict:
    return {'name': name, 'in': where, 'required': where == 'path', 'schema': {'type': 'string'}}


CREDENTIALS = {
    'no credentials (the fuzzer makes up Authorization headers of its own)': [],
    'a wrong key': ['-H', 'Authorization: Bearer sk_test_wrong_key_0000'],
    'malformed basic auth': ['-H', 'Authorization: Basic a'],
}


def test_no_request_without_the_right_credentials_gets_a_server_error(live_server: LiveServer, tmp_path: Path) -> None:
    spec = tmp_path / 'openapi.json'
    spec.write_text(json.dumps(openapi()))
    for name, credentials in CREDENTIALS.items():
        _fuzz(live_server, spec, credentials, name)
    log = (tmp_path / 'server.log').read_text()
    assert 'Traceback' not in log, log[-6000:]


def _fuzz(live_server: LiveServer, spec: Path, credentials: list[str], name: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name('st')), 'run', str(spec), '--url', live_server.url,
         '--checks', 'not_a_server_error', '--max-examples', os.environ.get('FUZZ_EXAMPLES', '8'), '--seed', '9',
         '--phases', 'examples,coverage,fuzzing', '--workers', '2', '--request-timeout', '30',
         '--generation-database', 'none', '--no-color', '--suppress-health-check', 'all', *credentials],
        capture_output=True, text=True, timeout=600, cwd=spec.parent,
    )  # fmt: skip
    report = f'{name}:\n{result.stdout[-6000:]}{result.stderr[-2000:]}'
    assert result.returncode == 0, report
    assert re.search(r'Tested: \d{2,}', result.stdout), report  # it did reach the operations

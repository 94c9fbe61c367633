"""Log in, log out, and the password links: /login, /logout, /forgot-password, /set-password/{token}."""

from fastapi.responses import RedirectResponse
from nicegui import app, background_tasks, ui

from components.forms import show_errors
from components.frame import frame, narrow_card
from pages import session as browser
from services import auth, oidc, passwords
from services.container import Services
from services.errors import RateLimited, ValidationFailed
from services.organizations import organization_exists

JUST_SET_FOR = 'password_set_for'  # in the browser's server-side storage, from "Set password" to /login
NO_MAIL = (
    'This Portico sends no email. Ask an administrator of your organization to send you a password link, or ask '
    'whoever runs this server to run: python main.py password-link YOUR-EMAIL'
)


def register(services: Services) -> None:
    test_mode = services.settings.offline_billing
    browser.register_routes(services)

    @ui.page('/')
    def index() -> RedirectResponse:
        return RedirectResponse('/admin')

    @ui.page('/login')
    async def login_page(next: str = '') -> RedirectResponse | None:  # noqa: A002
        if not await organization_exists():
            return RedirectResponse('/setup')
        next_url = browser.safe_next(next)
        product = await oidc.client_name_in(next_url)
        password_set_for = app.storage.user.pop(JUST_SET_FOR, None)  # shown once, after "Set password"
        with frame('Log in', test_mode=test_mode), narrow_card('Log in to Portico'):
            if product:
                ui.label(f'Log in to continue to {product}.').classes('text-grey-8').mark('continue-to')
            if password_set_for:
                ui.label('Your password is set. Log in.').classes('text-positive').mark('password-set')
            _login_form(services, next_url, email_value=password_set_for or '')
        return None

    @ui.page('/forgot-password')
    def forgot_password_page() -> None:
        with frame('Forgot password', test_mode=test_mode), narrow_card('Reset your password'):
            _reset_form(services)

    @ui.page('/set-password/{token}')
    async def set_password_page(token: str) -> None:
        with frame('Set password', test_mode=test_mode), narrow_card('Choose a new password'):
            if await passwords.valid_token(token) is None:
                ui.label('This link is invalid or has expired. Ask for a new one.').classes('text-negative')
                ui.link('Send a new link', '/forgot-password')
                return
            _set_password_form(token)


def _login_form(services: Services, next_url: str = '', *, email_value: str = '') -> None:
    email = ui.input('Email', value=email_value).props('type=email autocomplete=username').classes('w-full')
    password = ui.input('Password', password=True).props('autocomplete=current-password').classes('w-full')
    (password if email_value else email).props('autofocus')
    fields = {'email': email, 'password': password}

    async def log_in() -> None:
        show_errors(fields, None)
        missing = {name: message for name, message in (('email', 'Enter your email address.'),
                                                        ('password', 'Enter your password.'))
                   if not (fields[name].value or '').strip()}  # fmt: skip
        if missing:  # said at the field, and not counted as a failed login
            show_errors(fields, ValidationFailed(missing))
            return
        try:
            user = await auth.authenticate(email=email.value, password=password.value,
                                           client_address=browser.client_address())  # fmt: skip
        except ValidationFailed as failure:
            show_errors(fields, failure)
            return
        except RateLimited as error:
            password.error = str(error)
            return
        await browser.begin_login(services, user, next_url)

    password.on('keydown.enter', log_in)
    ui.button('Log in', on_click=log_in).classes('w-full')
    ui.link('Forgot password?', '/forgot-password')


def _reset_form(services: Services) -> None:
    ui.label('Enter your email address. If it belongs to an account, we send a link to set a new password.')
    if not services.mailer.sends:
        ui.label(NO_MAIL).classes('text-grey-8').mark('no-smtp-note')
    email = ui.input('Email').props('type=email autofocus').classes('w-full')
    answer = ui.label().classes('text-positive')

    def send() -> None:
        try:
            address = passwords.check_reset_request(email.value)
        except ValidationFailed as failure:
            show_errors({'email': email}, failure)
            return
        email.error = None
        # The answer comes at once and is the same for every address; the lookup and the mail follow.
        background_tasks.create(
            passwords.send_reset_link(email=address, client_address=browser.client_address(), mailer=services.mailer,
                                      base_url=services.settings.base_url),
            name='password reset mail',
        )  # fmt: skip
        answer.text = 'If that address belongs to an account, a reset link is on its way. It works for 24 h.'

    ui.button('Send reset link', on_click=send).classes('w-full')
    ui.link('Back to log in', '/login')


def _set_password_form(token: str) -> None:
    ui.label('Use at least 10 characters.').classes('text-grey-8')
    password = ui.input('New password', password=True).props('autocomplete=new-password').classes('w-full')
    confirm = ui.input('Confirm password', password=True).props('autocomplete=new-password').classes('w-full')

    async def save() -> None:
        try:
            user = await passwords.set_password_with_token(token=token, password=password.value, confirm=confirm.value)
        except ValidationFailed as failure:
            show_errors({'password': password, 'confirm': confirm}, failure, fallback='confirm')
            return
        app.storage.user[JUST_SET_FOR] = user.email  # /login says so and fills the email in, once
        ui.navigate.to('/login')

    ui.button('Set password', on_click=save).classes('w-full')

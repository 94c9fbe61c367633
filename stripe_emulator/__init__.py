"""An offline emulator of the part of Stripe's REST API that Portico uses.

The real `stripe` SDK talks to it over HTTP: mount `create_app(config)` under a path and point
`StripeClient(key, base_addresses={'api': base_url + mount_path})` at it.
"""

from .app import create_app
from .config import API_VERSION, EmulatorConfig
from .emulator import Emulator

__all__ = ['API_VERSION', 'Emulator', 'EmulatorConfig', 'create_app']

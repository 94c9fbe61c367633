"""Sign in with Portico: an OpenID Connect provider on NiceGUI's app (routes), built on Authlib (provider)."""

from oidc.routes import register

__all__ = ['register']

"""pyxie_auth: the cloud auth service (users, orgs, password and OIDC login, tokens, API keys).

Callers (cloud services) authenticate with a cloud service token; calls made for a user carry
that user's augmented token in `x-pyxie-user-token` metadata (`USER_TOKEN_METADATA_KEY`).
"""

from pyxie_auth.app import build, identity_provider_from
from pyxie_auth.controllers import (
    API_KEY_PREFIX,
    API_KEY_SERVICE_NAME,
    AUTH_SERVICE_NAME,
    USER_TOKEN_METADATA_KEY,
)
from pyxie_auth.settings import AUTH_GRPC_PORT, AuthSettings

__all__ = [
    "API_KEY_PREFIX",
    "API_KEY_SERVICE_NAME",
    "AUTH_GRPC_PORT",
    "AUTH_SERVICE_NAME",
    "USER_TOKEN_METADATA_KEY",
    "AuthSettings",
    "build",
    "identity_provider_from",
]

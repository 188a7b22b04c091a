"""Servicers of the auth service and the logic they call."""

from pyxie_auth.controllers._accounts import Accounts
from pyxie_auth.controllers._api_keys import API_KEY_PREFIX, APIKeys, hash_api_key
from pyxie_auth.controllers._caller import USER_TOKEN_METADATA_KEY
from pyxie_auth.controllers._passwords import Passwords
from pyxie_auth.controllers._tokens import Clock, TokenLifetimes, TokenMinter, utc_now
from pyxie_auth.controllers.servicers import (
    API_KEY_SERVICE_NAME,
    AUTH_SERVICE_NAME,
    APIKeyServicer,
    AuthServicer,
    api_key_registration,
    auth_registration,
)

__all__ = [
    "API_KEY_PREFIX",
    "API_KEY_SERVICE_NAME",
    "AUTH_SERVICE_NAME",
    "USER_TOKEN_METADATA_KEY",
    "APIKeyServicer",
    "APIKeys",
    "Accounts",
    "AuthServicer",
    "Clock",
    "Passwords",
    "TokenLifetimes",
    "TokenMinter",
    "api_key_registration",
    "auth_registration",
    "hash_api_key",
    "utc_now",
]

"""Issuer, audiences and token lifetimes, as Pixie uses them (internals §2.4, §3.3, §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

__all__ = [
    "AGENT_SERVICE_TOKEN_BACKDATE",
    "AGENT_SERVICE_TOKEN_LIFETIME",
    "API_USER_TOKEN_LIFETIME",
    "AUTH_CONNECTOR_TOKEN_LIFETIME",
    "CLOCK_SKEW_LEEWAY",
    "CLUSTER_TOKEN_BACKDATE",
    "CLUSTER_TOKEN_LIFETIME",
    "CRON_SCRIPT_API_USER_TOKEN_LIFETIME",
    "ISSUER",
    "SERVICE_TOKEN_LIFETIME",
    "SIGNING_ALGORITHM",
    "USER_AUGMENTED_TOKEN_LIFETIME",
    "USER_LOGIN_TOKEN_LIFETIME",
    "VIZIER_AUDIENCE",
]

# The only algorithm ever signed or accepted. Pixie parses with `WithVerify(jwa.HS256, key)`.
SIGNING_ALGORITHM: Final = "HS256"

# `iss` of every token Pyxie mints and the only one it accepts. (Pixie's cluster tokens say
# `pixielabs.ai`; Pyxie uses one issuer for all four kinds.)
ISSUER: Final = "PL"

# Audience of tokens used inside a vizier. In the cloud the audience is the cloud's domain name.
VIZIER_AUDIENCE: Final = "vizier"

# Tolerated clock difference between two hosts when checking exp/nbf/iat. Kept small because the
# shortest token lives 60 s; tokens that cross hosts are also back-dated at mint time (below).
CLOCK_SKEW_LEEWAY: Final = timedelta(seconds=5)

# Login token returned by AuthService.Login (Pixie: RefreshTokenValidDuration).
USER_LOGIN_TOKEN_LIFETIME: Final = timedelta(days=90)
# Token returned by GetAugmentedToken: the login token re-signed for a short time
# (Pixie: AugmentedTokenValidDuration).
USER_AUGMENTED_TOKEN_LIFETIME: Final = timedelta(minutes=90)
# API-user token from GetAugmentedTokenForAPIKey.
API_USER_TOKEN_LIFETIME: Final = timedelta(minutes=90)
# The cron-script service mints its API-user tokens for a single script run.
CRON_SCRIPT_API_USER_TOKEN_LIFETIME: Final = timedelta(minutes=10)
# GetAuthConnectorToken: token handed to a cluster auth connector.
AUTH_CONNECTOR_TOKEN_LIFETIME: Final = timedelta(minutes=30)
# Service-to-service token minted by Go services for one outbound call.
SERVICE_TOKEN_LIFETIME: Final = timedelta(minutes=10)
# Agents (PEM, Kelvin) mint a fresh token per outbound call, so a minute is plenty...
AGENT_SERVICE_TOKEN_LIFETIME: Final = timedelta(seconds=60)
# ...and they set nbf 60 s in the past so a receiver whose clock runs behind still accepts it.
AGENT_SERVICE_TOKEN_BACKDATE: Final = timedelta(seconds=60)
# Cluster token the cloud mints for passthrough requests, signed with the vizier's own key.
CLUSTER_TOKEN_LIFETIME: Final = timedelta(hours=1)
# Cluster tokens travel cloud → vizier; iat/nbf are back-dated for clock skew between the two.
CLUSTER_TOKEN_BACKDATE: Final = timedelta(minutes=2)

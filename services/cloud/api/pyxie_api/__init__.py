"""pyxie_api: the cloud's public gateway.

gRPC (port 51200, TLS): `px.cloudapi` (VizierClusterInfo, APIKeyManager,
VizierDeploymentKeyManager, AuthService.Login) and the `px.api.vizierpb.VizierService`
passthrough to viziers over cloud NATS, so that Pixie's official `pxapi` works unmodified.
HTTP (sanic): browser login for the web UI. Every call is authenticated by the auth service
(`pixie-api-key` header or `authorization: bearer`).
"""

from pyxie_api.settings import ApiSettings

__all__ = ["ApiSettings"]

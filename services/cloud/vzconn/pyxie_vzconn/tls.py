"""The bridge's server TLS material: from files, or issued once by the local CA."""

from __future__ import annotations

from typing import Final

import grpc
from pyxie_crypto import IssuedCertificate, ensure_local_ca
from pyxie_crypto.tls import CA_CERT_FILE

from pyxie_vzconn.settings import VzconnSettings

__all__ = ["SERVER_CERT_NAME", "server_credentials"]

# File stem of the certificate kept beside the local CA (`vzconn.crt` / `vzconn.key`).
SERVER_CERT_NAME: Final = "vzconn"


def _certificate(settings: VzconnSettings) -> IssuedCertificate:
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        return IssuedCertificate(
            settings.tls_cert_file.read_bytes(), settings.tls_key_file.read_bytes(), b""
        )
    if settings.tls_ca_dir is None:
        raise ValueError(
            "the bridge needs TLS: set PL_TLS_CERT_FILE and PL_TLS_KEY_FILE, or PL_TLS_CA_DIR "
            "for a certificate from the local CA"
        )
    directory = settings.tls_ca_dir
    ca = ensure_local_ca(directory)
    if (directory / f"{SERVER_CERT_NAME}.crt").exists():
        return IssuedCertificate.load(directory, SERVER_CERT_NAME)
    issued = ca.issue_server_certificate(
        dns_names=settings.tls_server_dns_names, ip_addresses=settings.tls_server_ip_addresses
    )
    issued.save(directory, SERVER_CERT_NAME)
    return issued


def _client_ca(settings: VzconnSettings) -> bytes:
    if settings.tls_client_ca_file is not None:
        return settings.tls_client_ca_file.read_bytes()
    if settings.tls_ca_dir is not None and (settings.tls_ca_dir / CA_CERT_FILE).exists():
        return (settings.tls_ca_dir / CA_CERT_FILE).read_bytes()
    raise ValueError(
        "mTLS is on (PL_TLS_REQUIRE_CLIENT_CERT) but no client CA is known: set "
        "PL_TLS_CLIENT_CA_FILE or PL_TLS_CA_DIR"
    )


def server_credentials(settings: VzconnSettings) -> grpc.ServerCredentials | None:
    """None when TLS is turned off (debugging only)."""
    if not settings.tls_enabled:
        return None
    certificate = _certificate(settings)
    root = _client_ca(settings) if settings.tls_require_client_cert else None
    return grpc.ssl_server_credentials(
        [(certificate.key_pem, certificate.cert_pem)],
        root_certificates=root,
        require_client_auth=settings.tls_require_client_cert,
    )

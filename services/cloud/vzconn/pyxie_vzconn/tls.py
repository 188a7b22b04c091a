"""The bridge's server TLS: from files or issued once by the local CA; rotation; revocation."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_crypto import CertificateError, IssuedCertificate, ensure_local_ca
from pyxie_crypto.revocation import CRL_FILE, CertificateRevokedError, RevocationChecker
from pyxie_crypto.tls import CA_CERT_FILE
from pyxie_service import Unauthenticated, get_logger
from pyxie_service._handlers import Around, wrap_handler
from pyxie_service.audit import audit

from pyxie_vzconn.settings import VzconnSettings

__all__ = [
    "SERVER_CERT_NAME",
    "RevokedCertificateInterceptor",
    "revocation_checker",
    "server_credentials",
]

# File stem of the certificate kept beside the local CA (`vzconn.crt` / `vzconn.key`).
SERVER_CERT_NAME: Final = "vzconn"

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

_log = get_logger("pyxie.vzconn.tls")


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


class _ReloadingCertificate:
    """The server's key pair, re-read from its files when they change (rotation).

    gRPC asks for the certificate configuration at every new handshake; an unchanged pair
    answers None (keep the current one), a replaced pair a new configuration. Connections
    already open keep the certificate they were made with, so a running bridge stream is not
    dropped. Replacing the files: write the key and certificate (each atomically, e.g. with
    rename); a pair that does not match yet is skipped until both are in place.
    """

    def __init__(self, settings: VzconnSettings) -> None:
        self._settings = settings
        first = _certificate(settings)
        self._paths = _certificate_paths(settings)
        self._stamp = self._current_stamp()
        self.cert_pem = first.cert_pem
        self._key_pem = first.key_pem
        self.rotations = 0

    def _current_stamp(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for path in self._paths:
            try:
                stat = os.stat(path)
            except OSError:
                return ()
            stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        root = _client_ca(self._settings) if self._settings.tls_require_client_cert else None
        return grpc.ssl_server_certificate_configuration(
            [(self._key_pem, self.cert_pem)], root_certificates=root
        )

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        stamp = self._current_stamp()
        if not stamp or stamp == self._stamp:
            return None
        try:
            cert_path, key_path = self._paths
            candidate = IssuedCertificate(cert_path.read_bytes(), key_path.read_bytes(), b"")
            candidate.check_pair()
        except (OSError, CertificateError) as exc:
            _log.warning("server certificate files changed but are not usable yet", error=str(exc))
            return None
        self._stamp = stamp
        self.cert_pem, self._key_pem = candidate.cert_pem, candidate.key_pem
        self.rotations += 1
        serial = candidate.certificate.serial_number
        _log.info("server certificate rotated", serial=f"{serial:x}")
        return self.configuration()


def _certificate_paths(settings: VzconnSettings) -> tuple[Path, Path]:
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        return settings.tls_cert_file, settings.tls_key_file
    assert settings.tls_ca_dir is not None
    directory = settings.tls_ca_dir
    return directory / f"{SERVER_CERT_NAME}.crt", directory / f"{SERVER_CERT_NAME}.key"


def server_credentials(settings: VzconnSettings) -> grpc.ServerCredentials | None:
    """None when TLS is turned off (debugging only); else credentials that follow rotation."""
    if not settings.tls_enabled:
        return None
    certificate = _ReloadingCertificate(settings)
    return grpc.dynamic_ssl_server_credentials(
        certificate.configuration(),
        # The stubs say the fetcher never returns None; gRPC documents None as "no change".
        certificate.fetch,  # type: ignore[arg-type]
        require_client_authentication=settings.tls_require_client_cert,
    )


def revocation_checker(settings: VzconnSettings) -> RevocationChecker | None:
    """Checks client certificates against the CA's CRL (mTLS only: else there are none)."""
    if not (settings.tls_enabled and settings.tls_require_client_cert):
        return None
    crl = settings.tls_crl_file
    if crl is None and settings.tls_ca_dir is not None:
        crl = settings.tls_ca_dir / CRL_FILE
    if crl is None:
        return None
    return RevocationChecker(crl, _client_ca(settings))


class RevokedCertificateInterceptor(_ServerInterceptor):
    """Refuses, at the start of every call, a peer whose certificate the CA revoked.

    gRPC Python's TLS has no CRL hook: the handshake accepts any certificate the CA signed, so
    this looks at the certificate the peer just presented (the call's auth context) before the
    handler runs. The CRL is re-read when its file changes. A refusal is UNAUTHENTICATED and an
    audit event (`bridge.connect`, refused).
    """

    def __init__(self, checker: RevocationChecker) -> None:
        self._checker = checker

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler  # type: ignore[return-value]
        return wrap_handler(handler, self._around(handler_call_details.method))

    def _around(self, method: str) -> Around:
        checker = self._checker

        @asynccontextmanager
        async def around(context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
            # Read while the call is alive (never after it ended).
            auth = context.auth_context()
            peer = context.peer()
            presented = list(auth.get("x509_pem_cert") or [])
            if presented:
                try:
                    checker.check(presented[0])
                except CertificateRevokedError as exc:
                    audit(
                        "bridge.connect",
                        "refused",
                        actor=f"cert:{exc.subject}",
                        target=method,
                        reason="client certificate revoked",
                        serial=f"{exc.serial:x}",
                        peer=peer,
                    )
                    raise Unauthenticated(
                        f"the client certificate (serial {exc.serial:x}) was revoked by the "
                        "cloud's CA; issue a new one"
                    ) from None
            yield

        return around

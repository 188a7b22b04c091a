"""Certificate revocation for the local CA: a revoked-serials file, a signed CRL, a checker.

``revoke_certificate(directory, cert_or_serial)`` records a serial in ``revoked.json`` beside
the CA and publishes ``ca.crl`` (PEM, signed by the CA, next update in a year) atomically.
``RevocationChecker`` answers "is this peer certificate revoked?" from that CRL and reloads it
whenever the file changes (size or mtime), so a revocation takes effect without a restart.
A CRL that does not verify against the CA is refused: the checker keeps the list it had and
reports the error (a forged CRL cannot un-revoke anything).

gRPC Python offers no CRL hook, so servers call the checker on the peer certificate right
after the handshake (the bridge's interceptor) and clients check the server's certificate with
``ssl`` and ``VERIFY_CRL_CHECK_LEAF`` (``check_server_certificate``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from pyxie_crypto._errors import CertificateError
from pyxie_crypto.tls import CertificateAuthority, write_private_file

__all__ = [
    "CRL_FILE",
    "REVOKED_FILE",
    "CertificateRevokedError",
    "RevocationChecker",
    "check_server_certificate",
    "publish_crl",
    "revoke_certificate",
    "revoked_serials",
]

CRL_FILE: Final = "ca.crl"
REVOKED_FILE: Final = "revoked.json"
_CRL_DAYS: Final = 365
_X509_V_ERR_CERT_REVOKED: Final = 23


class CertificateRevokedError(CertificateError):
    """The peer's certificate is on the CA's revocation list."""

    def __init__(self, serial: int, subject: str) -> None:
        super().__init__(f"certificate {subject!r} (serial {serial:x}) is revoked")
        self.serial = serial
        self.subject = subject


def _serial_of(certificate: x509.Certificate | bytes | int) -> int:
    if isinstance(certificate, int):
        return certificate
    if isinstance(certificate, bytes):
        return _load_certificate(certificate).serial_number
    return certificate.serial_number


def _load_certificate(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"not a certificate: {exc}") from exc


def revoked_serials(directory: Path) -> dict[int, str]:
    """Serial → revocation time (ISO 8601) of everything the CA in ``directory`` revoked."""
    try:
        raw = json.loads((directory / REVOKED_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CertificateError(f"cannot read {directory / REVOKED_FILE}: {exc}") from exc
    return {int(serial, 16): str(when) for serial, when in raw.items()}


def publish_crl(directory: Path, *, valid_days: int = _CRL_DAYS) -> Path:
    """Sign a CRL with the CA in ``directory`` listing every revoked serial; write ``ca.crl``."""
    ca = CertificateAuthority.load(directory)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=valid_days))
    )
    for serial, when in sorted(revoked_serials(directory).items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(dt.datetime.fromisoformat(when))
            .build()
        )
    crl = builder.sign(ca.signing_key, hashes.SHA256())
    path = directory / CRL_FILE
    write_private_file(path, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return path


def revoke_certificate(directory: Path, certificate: x509.Certificate | bytes | int) -> int:
    """Revoke a certificate (object, PEM/DER bytes or serial) and publish the new CRL."""
    serial = _serial_of(certificate)
    revoked = revoked_serials(directory)
    revoked.setdefault(serial, dt.datetime.now(dt.UTC).isoformat())
    text = json.dumps({f"{s:x}": when for s, when in revoked.items()}, indent=1)
    write_private_file(directory / REVOKED_FILE, text.encode(), mode=0o644)
    publish_crl(directory)
    return serial


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]
    serials: frozenset[int]


class RevocationChecker:
    """Checks certificates against the CRL at ``crl_path``, reloading it when it changes.

    No file = nothing revoked (a CA that never revoked anything publishes no CRL). The CRL must
    be signed by ``ca_cert_pem``'s key; one that is not is refused and the last good list stays.
    Thread-safe: gRPC calls it from its handlers, tests from their own threads.
    """

    def __init__(self, crl_path: Path, ca_cert_pem: bytes) -> None:
        self.crl_path = crl_path
        self._ca = x509.load_pem_x509_certificate(ca_cert_pem)
        self._lock = threading.Lock()
        self._loaded = _Loaded((-1, -1), frozenset())
        self.last_error = ""
        self.reloads = 0

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.crl_path)
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _load(self, stamp: tuple[int, int]) -> _Loaded:
        data = self.crl_path.read_bytes()
        try:
            crl = (
                x509.load_pem_x509_crl(data)
                if data.lstrip().startswith(b"-----")
                else x509.load_der_x509_crl(data)
            )
        except ValueError as exc:
            raise CertificateError(f"{self.crl_path} is not a CRL: {exc}") from exc
        public_key = self._ca.public_key()
        if crl.issuer != self._ca.subject or not crl.is_signature_valid(public_key):  # type: ignore[arg-type]
            raise CertificateError(f"{self.crl_path} is not signed by the CA")
        return _Loaded(stamp, frozenset(entry.serial_number for entry in crl))

    def revoked(self) -> frozenset[int]:
        """The revoked serials, reloading the CRL first if the file changed."""
        stamp = self._stamp()
        with self._lock:
            if stamp is None:
                if self._loaded.stamp != (-1, -1):
                    # The file went away: keep what was revoked (fail closed), say so.
                    self.last_error = f"{self.crl_path} disappeared; keeping the last list"
                return self._loaded.serials
            if stamp != self._loaded.stamp:
                try:
                    self._loaded = self._load(stamp)
                    self.last_error = ""
                    self.reloads += 1
                except (OSError, CertificateError) as exc:
                    self.last_error = str(exc)
            return self._loaded.serials

    def check(self, certificate: x509.Certificate | bytes) -> None:
        """Raise ``CertificateRevokedError`` if ``certificate`` (object, PEM or DER) is revoked."""
        cert = _load_certificate(certificate) if isinstance(certificate, bytes) else certificate
        if cert.serial_number in self.revoked():
            raise CertificateRevokedError(cert.serial_number, cert.subject.rfc4514_string())


def check_server_certificate(
    address: str,
    *,
    ca_cert_file: Path,
    crl_file: Path,
    server_name: str = "",
    client_cert_file: Path | None = None,
    client_key_file: Path | None = None,
    timeout_s: float = 10.0,
) -> x509.Certificate:
    """TLS-handshake with ``address`` checking the server's certificate against the CRL.

    Raises ``CertificateError`` when it is revoked or fails verification otherwise,
    ``OSError`` when the server cannot be reached. Returns the certificate the server
    presented. A missing CRL file means nothing is revoked.
    """
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert_file))
    if crl_file.exists():
        context.load_verify_locations(cafile=str(crl_file))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    context.set_alpn_protocols(["h2"])
    if client_cert_file is not None and client_key_file is not None:
        context.load_cert_chain(str(client_cert_file), str(client_key_file))
    try:
        with (
            socket.create_connection((host, int(port)), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=server_name or host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code == _X509_V_ERR_CERT_REVOKED:
            raise CertificateError(
                f"the server at {address} presented a revoked certificate"
            ) from exc
        raise CertificateError(
            f"the server at {address} failed certificate verification: {exc.verify_message}"
        ) from exc
    if der is None:
        raise CertificateError(f"the server at {address} presented no certificate")
    return x509.load_der_x509_certificate(der)

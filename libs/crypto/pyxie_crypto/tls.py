"""A local certificate authority for TLS and mTLS between Pyxie components.

The embedded stack needs TLS without any setup: :func:`ensure_local_ca` creates (or reloads) a
CA under a directory, and the CA issues server certificates (DNS and IP SANs) and client
certificates (for mTLS on the vizier bridge). Keys are ECDSA P-256: fast to generate, and
supported by gRPC, OpenSSL and browsers. Private keys are written with mode 0600.

Nothing here imports grpc: :class:`ServerTlsMaterial` and :class:`ChannelTlsMaterial` hold the
PEM bytes that ``grpc.ssl_server_credentials`` and ``grpc.ssl_channel_credentials`` take.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyxie_crypto._errors import CertificateError

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CertificateAuthority",
    "ChannelTlsMaterial",
    "IssuedCertificate",
    "ServerTlsMaterial",
    "ensure_local_ca",
    "write_private_file",
]

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
_CA_DAYS = 3650
_LEAF_DAYS = 397  # the longest validity browsers accept for a server certificate
# Certificates start slightly in the past so a peer whose clock lags a little still accepts them.
_BACKDATE = dt.timedelta(minutes=5)


def write_private_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` atomically; the file never exists with looser permissions than ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pyxie"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate and its private key, PEM encoded."""

    cert_pem: bytes
    key_pem: bytes
    ca_cert_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def save(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write ``<name>.crt`` (0644) and ``<name>.key`` (0600); return both paths."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        write_private_file(key_path, self.key_pem)
        write_private_file(cert_path, self.cert_pem, mode=0o644)
        return cert_path, key_path

    @classmethod
    def load(cls, directory: Path, name: str) -> IssuedCertificate:
        try:
            cert_pem = (directory / f"{name}.crt").read_bytes()
            key_pem = (directory / f"{name}.key").read_bytes()
            ca_pem = (directory / CA_CERT_FILE).read_bytes()
        except OSError as exc:
            raise CertificateError(
                f"cannot read certificate {name!r} in {directory}: {exc}"
            ) from exc
        return cls(cert_pem, key_pem, ca_pem)

    def check_pair(self) -> None:
        """CertificateError unless the key belongs to the certificate (both parse)."""
        try:
            key = serialization.load_pem_private_key(self.key_pem, password=None)
            certificate = self.certificate
        except ValueError as exc:
            raise CertificateError(f"not a PEM certificate and key: {exc}") from exc
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if key.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(
            der, spki
        ):
            raise CertificateError("the key does not match the certificate")

    def server_material(self, require_client_auth: bool = False) -> ServerTlsMaterial:
        return ServerTlsMaterial(
            key_pairs=((self.key_pem, self.cert_pem),),
            root_certificates=self.ca_cert_pem,
            require_client_auth=require_client_auth,
        )

    def channel_material(self) -> ChannelTlsMaterial:
        """TLS material for a client presenting this certificate (mTLS)."""
        return ChannelTlsMaterial(self.ca_cert_pem, self.key_pem, self.cert_pem)


@dataclass(frozen=True)
class ServerTlsMaterial:
    """Arguments for ``grpc.ssl_server_credentials(**material.as_kwargs())``."""

    key_pairs: tuple[tuple[bytes, bytes], ...]
    root_certificates: bytes | None
    require_client_auth: bool

    def as_kwargs(self) -> dict[str, object]:
        return {
            "private_key_certificate_chain_pairs": list(self.key_pairs),
            "root_certificates": self.root_certificates,
            "require_client_auth": self.require_client_auth,
        }


@dataclass(frozen=True)
class ChannelTlsMaterial:
    """Arguments for ``grpc.ssl_channel_credentials(**material.as_kwargs())``."""

    root_certificates: bytes
    private_key: bytes | None = None
    certificate_chain: bytes | None = None

    def as_kwargs(self) -> dict[str, bytes | None]:
        return {
            "root_certificates": self.root_certificates,
            "private_key": self.private_key,
            "certificate_chain": self.certificate_chain,
        }


class CertificateAuthority:
    """A self-signed CA that issues server and client certificates."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if key.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(
            der, spki
        ):
            raise CertificateError("CA private key does not match the CA certificate")
        self._key = key
        self.certificate = certificate

    @classmethod
    def create(
        cls, common_name: str = "Pyxie local CA", valid_days: int = _CA_DAYS
    ) -> CertificateAuthority:
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        """The CA's private key (it signs certificates and the CRL)."""
        return self._key

    def _issue(
        self,
        common_name: str,
        usage: x509.ObjectIdentifier,
        sans: Sequence[x509.GeneralName],
        valid_days: int,
    ) -> IssuedCertificate:
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(
            cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), self.cert_pem
        )

    def issue_server_certificate(
        self,
        dns_names: Iterable[str] = ("localhost",),
        ip_addresses: Iterable[str] = ("127.0.0.1", "::1"),
        common_name: str | None = None,
        valid_days: int = _LEAF_DAYS,
    ) -> IssuedCertificate:
        """Issue a serverAuth certificate; clients verify the hostname against its SANs."""
        names = list(dns_names)
        sans: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
        for address in ip_addresses:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(address)))
            except ValueError as exc:
                raise CertificateError(f"{address!r} is not an IP address") from exc
        if not sans:
            raise CertificateError("a server certificate needs at least one DNS name or IP address")
        cn = common_name or (names[0] if names else "pyxie-server")
        return self._issue(cn, ExtendedKeyUsageOID.SERVER_AUTH, sans, valid_days)

    def reissue(self, old: IssuedCertificate, valid_days: int = _LEAF_DAYS) -> IssuedCertificate:
        """A new key and certificate with ``old``'s name, usage and SANs (rotation)."""
        cert = old.certificate
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        try:
            sans = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            sans = []
        return self._issue(str(cn), next(iter(usage)), sans, valid_days)

    def issue_client_certificate(
        self, common_name: str, valid_days: int = _LEAF_DAYS
    ) -> IssuedCertificate:
        """Issue a clientAuth certificate whose subject CN identifies the client."""
        if not common_name:
            raise CertificateError("a client certificate needs a common name")
        return self._issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH, (), valid_days)

    def save(self, directory: Path) -> None:
        """Write ``ca.key`` (0600) and ``ca.crt`` under ``directory`` (created 0700)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_file(directory / CA_KEY_FILE, _key_pem(self._key))
        write_private_file(directory / CA_CERT_FILE, self.cert_pem, mode=0o644)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        try:
            key_pem = (directory / CA_KEY_FILE).read_bytes()
            cert_pem = (directory / CA_CERT_FILE).read_bytes()
        except OSError as exc:
            raise CertificateError(f"cannot read the CA in {directory}: {exc}") from exc
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise CertificateError(f"the CA files in {directory} are not valid PEM: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{directory / CA_KEY_FILE} is not an ECDSA private key")
        return cls(key, cert)


def ensure_local_ca(directory: Path, common_name: str = "Pyxie local CA") -> CertificateAuthority:
    """Load the CA stored in ``directory``, creating and saving one on first use."""
    if (directory / CA_KEY_FILE).exists() or (directory / CA_CERT_FILE).exists():
        return CertificateAuthority.load(directory)
    ca = CertificateAuthority.create(common_name)
    ca.save(directory)
    return ca

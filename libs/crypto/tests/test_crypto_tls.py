import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from pyxie_crypto import (
    CertificateAuthority,
    CertificateError,
    IssuedCertificate,
    ensure_local_ca,
)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


@pytest.fixture(scope="module")
def server_cert(ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue_server_certificate(["localhost", "query-broker.pl"], ["127.0.0.1"])


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


class _TlsServer:
    """A one-connection TLS echo server on a localhost port, run in a thread."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._context = context
        self.error: BaseException | None = None
        self.peer_cn: str | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls:
                peer = tls.getpeercert()
                if peer:
                    self.peer_cn = dict(item[0] for item in peer["subject"])["commonName"]
                tls.sendall(tls.recv(100))
        except (OSError, ssl.SSLError) as exc:
            self.error = exc
        finally:
            conn.close()

    def close(self) -> None:
        self._thread.join(timeout=30)
        self._listener.close()


@pytest.fixture
def tls_server(tmp_path, ca, server_cert) -> Iterator[_TlsServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        _write(tmp_path, "server.crt", server_cert.cert_pem),
        _write(tmp_path, "server.key", server_cert.key_pem),
    )
    server = _TlsServer(context)
    yield server
    server.close()


@pytest.fixture
def mtls_server(tmp_path, ca, server_cert) -> Iterator[_TlsServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        _write(tmp_path, "server.crt", server_cert.cert_pem),
        _write(tmp_path, "server.key", server_cert.key_pem),
    )
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    context.verify_mode = ssl.CERT_REQUIRED
    server = _TlsServer(context)
    yield server
    server.close()


def _client_context(ca_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def _exchange(port: int, context: ssl.SSLContext, hostname: str) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        tls.sendall(b"ping")
        return tls.recv(100)


@pytest.mark.parametrize("hostname", ["localhost", "query-broker.pl", "127.0.0.1"])
def test_server_cert_verifies_for_its_names(tls_server, ca, hostname):
    assert _exchange(tls_server.port, _client_context(ca.cert_pem), hostname) == b"ping"


def test_server_cert_fails_for_another_hostname(tls_server, ca):
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _exchange(tls_server.port, _client_context(ca.cert_pem), "evil.example.com")


def test_server_cert_fails_against_another_ca(tls_server):
    other = CertificateAuthority.create("another CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        _exchange(tls_server.port, _client_context(other.cert_pem), "localhost")


def test_mtls_accepts_a_client_cert_from_the_ca(tmp_path, mtls_server, ca):
    client = ca.issue_client_certificate("cloud-connector")
    context = _client_context(ca.cert_pem)
    context.load_cert_chain(
        _write(tmp_path, "client.crt", client.cert_pem),
        _write(tmp_path, "client.key", client.key_pem),
    )
    assert _exchange(mtls_server.port, context, "localhost") == b"ping"
    mtls_server.close()
    assert mtls_server.error is None
    assert mtls_server.peer_cn == "cloud-connector"


def test_mtls_refuses_a_client_without_a_cert(mtls_server, ca):
    with pytest.raises((ssl.SSLError, OSError)):
        _exchange(mtls_server.port, _client_context(ca.cert_pem), "localhost")
    mtls_server.close()
    assert isinstance(mtls_server.error, ssl.SSLError)


def test_mtls_refuses_a_client_cert_from_another_ca(tmp_path, mtls_server, ca):
    rogue = CertificateAuthority.create("rogue").issue_client_certificate("cloud-connector")
    context = _client_context(ca.cert_pem)
    context.load_cert_chain(
        _write(tmp_path, "rogue.crt", rogue.cert_pem),
        _write(tmp_path, "rogue.key", rogue.key_pem),
    )
    with pytest.raises((ssl.SSLError, OSError)):
        _exchange(mtls_server.port, context, "localhost")
    mtls_server.close()
    assert isinstance(mtls_server.error, ssl.SSLCertVerificationError)


def test_certificates_carry_the_right_usages(ca, server_cert):
    server = server_cert.certificate
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "query-broker.pl"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    client = ca.issue_client_certificate("pem-1").certificate
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_ca_is_saved_with_private_keys_0600_and_reloaded(tmp_path, server_cert):
    ca_dir = tmp_path / "tls"
    created = ensure_local_ca(ca_dir)
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(ca_dir.stat().st_mode) == 0o700
    reloaded = ensure_local_ca(ca_dir)
    assert reloaded.cert_pem == created.cert_pem
    issued = reloaded.issue_server_certificate()
    _, key_path = issued.save(ca_dir, "api")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert IssuedCertificate.load(ca_dir, "api") == issued
    # The reloaded CA still signs certificates the saved CA certificate verifies.
    issued.certificate.verify_directly_issued_by(created.certificate)


def test_grpc_credential_inputs_are_pem_bytes(ca, server_cert):
    server = server_cert.server_material(require_client_auth=True).as_kwargs()
    assert server["private_key_certificate_chain_pairs"] == [
        (server_cert.key_pem, server_cert.cert_pem)
    ]
    assert server["root_certificates"] == ca.cert_pem
    assert server["require_client_auth"] is True
    client = ca.issue_client_certificate("c").channel_material().as_kwargs()
    assert client["root_certificates"] == ca.cert_pem
    assert client["private_key"] is not None and client["private_key"].startswith(b"-----BEGIN")


def test_damaged_ca_files_raise_certificate_error(tmp_path):
    ensure_local_ca(tmp_path)
    (tmp_path / "ca.key").write_bytes(b"garbage")
    with pytest.raises(CertificateError, match="not valid PEM"):
        ensure_local_ca(tmp_path)


def test_mismatched_ca_key_is_rejected(tmp_path):
    CertificateAuthority.create().save(tmp_path / "a")
    CertificateAuthority.create().save(tmp_path / "b")
    (tmp_path / "a" / "ca.key").write_bytes((tmp_path / "b" / "ca.key").read_bytes())
    with pytest.raises(CertificateError, match="does not match"):
        CertificateAuthority.load(tmp_path / "a")


def test_bad_ip_san_is_rejected(ca):
    with pytest.raises(CertificateError, match="not an IP address"):
        ca.issue_server_certificate(["localhost"], ["localhost"])

"""`cloud revoke-cert` and `cloud rotate-cert` on the devstack's local CA (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyxie_client.local import tls_dir
from pyxie_crypto import CertificateAuthority, IssuedCertificate
from pyxie_crypto.revocation import CRL_FILE, RevocationChecker
from pyxie_devstack.cloud.cli import main


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    directory = tls_dir(tmp_path)
    ca = CertificateAuthority.create()
    ca.save(directory)
    ca.issue_server_certificate(dns_names=("localhost", "cloud.local")).save(directory, "vzconn")
    return directory


def test_revoke_cert_publishes_a_crl_that_lists_it(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = CertificateAuthority.load(state)
    victim = ca.issue_client_certificate("vizier-1")
    bystander = ca.issue_client_certificate("vizier-2")
    (state / "victim.crt").write_bytes(victim.cert_pem)
    assert main(["revoke-cert", str(state / "victim.crt")]) == 0
    assert f"{victim.certificate.serial_number:x}" in capsys.readouterr().out
    checker = RevocationChecker(state / CRL_FILE, ca.cert_pem)
    assert victim.certificate.serial_number in checker.revoked()
    assert bystander.certificate.serial_number not in checker.revoked()
    # By serial too; the CRL then lists both.
    assert main(["revoke-cert", f"{bystander.certificate.serial_number:x}"]) == 0
    assert bystander.certificate.serial_number in checker.revoked()
    assert checker.reloads == 2


def test_revoke_cert_of_garbage_is_a_clear_error(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (state / "junk.crt").write_bytes(b"not a certificate")
    assert main(["revoke-cert", str(state / "junk.crt")]) == 2
    assert "not a certificate" in capsys.readouterr().err
    assert main(["revoke-cert", "zz-not-hex"]) == 2


def test_rotate_cert_keeps_the_names_and_changes_key_and_serial(state: Path) -> None:
    before = IssuedCertificate.load(state, "vzconn")
    assert main(["rotate-cert"]) == 0
    after = IssuedCertificate.load(state, "vzconn")
    after.check_pair()
    assert after.certificate.serial_number != before.certificate.serial_number
    assert after.key_pem != before.key_pem
    assert after.certificate.subject == before.certificate.subject
    assert (
        after.certificate.extensions.get_extension_for_oid(
            before.certificate.extensions[-1].oid
        ).value
        == before.certificate.extensions[-1].value
    )

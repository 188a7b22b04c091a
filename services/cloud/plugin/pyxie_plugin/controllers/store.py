"""PostgreSQL access: each org's plugin configs and retention scripts.

Secrets never leave this module in the clear except to the caller that asked for them: the
org's config values (export headers, API keys among them) and export URLs are AES-256-GCM
envelopes (`pyxie_crypto.AtRestCipher`), each bound to its row (org and plugin, or script id) so
an envelope copied into another row does not open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pyxie_crypto import AtRestCipher
from pyxie_service import AlreadyExists, FailedPrecondition, NotFound
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pyxie_plugin.controllers.releases import PresetScript
from pyxie_plugin.schema import org_retention_plugins, retention_scripts

__all__ = ["OrgPluginConfig", "PluginStore", "RetentionScriptRecord", "ScriptChanges"]


@dataclass(frozen=True)
class OrgPluginConfig:
    org_id: uuid.UUID
    plugin_id: str
    version: str
    configs: Mapping[str, str]
    custom_export_url: str | None
    insecure_tls: bool


@dataclass(frozen=True)
class RetentionScriptRecord:
    id: uuid.UUID
    org_id: uuid.UUID
    plugin_id: str
    name: str
    description: str
    contents: str
    export_url: str | None
    frequency_s: int
    cluster_ids: tuple[uuid.UUID, ...]
    enabled: bool
    is_preset: bool


@dataclass(frozen=True)
class ScriptChanges:
    """What a script edit may change; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    frequency_s: int | None = None
    contents: str | None = None
    # "" clears the script's own URL (the plugin's is used).
    export_url: str | None = None
    cluster_ids: tuple[uuid.UUID, ...] | None = None


def _config_aad(org_id: uuid.UUID, plugin_id: str, column: str) -> bytes:
    return f"org_retention_plugins/{org_id}/{plugin_id}/{column}".encode()


def _script_aad(script_id: uuid.UUID) -> bytes:
    return f"retention_scripts/{script_id}/export_url".encode()


def _now() -> datetime:
    return datetime.now(UTC)


def _is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "unique" in str(exc.orig).lower()


class PluginStore:
    def __init__(self, engine: AsyncEngine, cipher: AtRestCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    # -- org plugin configs ---------------------------------------------------------------

    def _config_of(self, row: Any) -> OrgPluginConfig:
        configs = json.loads(
            self._cipher.decrypt(
                row.configurations, _config_aad(row.org_id, row.plugin_id, "configurations")
            )
        )
        url = None
        if row.custom_export_url is not None:
            url = self._cipher.decrypt(
                row.custom_export_url, _config_aad(row.org_id, row.plugin_id, "export_url")
            ).decode()
        return OrgPluginConfig(
            org_id=row.org_id,
            plugin_id=row.plugin_id,
            version=row.version,
            configs=configs,
            custom_export_url=url,
            insecure_tls=row.insecure_tls,
        )

    async def org_plugins(self, org_id: uuid.UUID) -> list[OrgPluginConfig]:
        query = sa.select(org_retention_plugins).where(org_retention_plugins.c.org_id == org_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._config_of(row) for row in rows]

    async def org_plugin(self, org_id: uuid.UUID, plugin_id: str) -> OrgPluginConfig | None:
        query = sa.select(org_retention_plugins).where(
            org_retention_plugins.c.org_id == org_id,
            org_retention_plugins.c.plugin_id == plugin_id,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else self._config_of(row)

    async def save_org_plugin(
        self, config: OrgPluginConfig, *, presets: Iterable[PresetScript] = ()
    ) -> list[uuid.UUID]:
        """Insert or replace the org's config; install `presets` (new ids returned) with it."""
        org_id, plugin_id = config.org_id, config.plugin_id
        values: dict[str, Any] = {
            "version": config.version,
            "configurations": self._cipher.encrypt(
                json.dumps(dict(config.configs), sort_keys=True).encode(),
                _config_aad(org_id, plugin_id, "configurations"),
            ),
            "custom_export_url": None
            if config.custom_export_url is None
            else self._cipher.encrypt(
                config.custom_export_url.encode(), _config_aad(org_id, plugin_id, "export_url")
            ),
            "insecure_tls": config.insecure_tls,
            "updated_at": _now(),
        }
        statement = (
            sa.dialects.postgresql.insert(org_retention_plugins)
            .values(org_id=org_id, plugin_id=plugin_id, **values)
            .on_conflict_do_update(index_elements=["org_id", "plugin_id"], set_=values)
        )
        created: list[uuid.UUID] = []
        async with self._engine.begin() as conn:
            await conn.execute(statement)
            for preset in presets:
                created.append(
                    await self._insert_script(
                        conn,
                        org_id=org_id,
                        plugin_id=plugin_id,
                        name=await self._free_name(conn, org_id, preset.name),
                        description=preset.description,
                        contents=preset.contents,
                        export_url=None,
                        frequency_s=preset.frequency_s,
                        cluster_ids=(),
                        enabled=True,
                        is_preset=True,
                    )
                )
        return created

    async def delete_org_plugin(self, org_id: uuid.UUID, plugin_id: str) -> list[uuid.UUID]:
        """Disable: the config row goes and its scripts with it (their ids are returned)."""
        async with self._engine.begin() as conn:
            scripts = (
                await conn.execute(
                    sa.delete(retention_scripts)
                    .where(
                        retention_scripts.c.org_id == org_id,
                        retention_scripts.c.plugin_id == plugin_id,
                    )
                    .returning(retention_scripts.c.id)
                )
            ).scalars()
            deleted = list(scripts)
            await conn.execute(
                sa.delete(org_retention_plugins).where(
                    org_retention_plugins.c.org_id == org_id,
                    org_retention_plugins.c.plugin_id == plugin_id,
                )
            )
        return deleted

    # -- retention scripts ----------------------------------------------------------------

    def _script_of(self, row: Any) -> RetentionScriptRecord:
        url = None
        if row.export_url is not None:
            url = self._cipher.decrypt(row.export_url, _script_aad(row.id)).decode()
        return RetentionScriptRecord(
            id=row.id,
            org_id=row.org_id,
            plugin_id=row.plugin_id,
            name=row.name,
            description=row.description,
            contents=row.contents,
            export_url=url,
            frequency_s=row.frequency_s,
            cluster_ids=tuple(row.cluster_ids),
            enabled=row.enabled,
            is_preset=row.is_preset,
        )

    async def scripts(self, org_id: uuid.UUID) -> list[RetentionScriptRecord]:
        query = (
            sa.select(retention_scripts)
            .where(retention_scripts.c.org_id == org_id)
            .order_by(retention_scripts.c.name)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._script_of(row) for row in rows]

    async def script(self, org_id: uuid.UUID, script_id: uuid.UUID) -> RetentionScriptRecord:
        """The org's script; another org's script is NotFound, exactly like a missing one."""
        query = sa.select(retention_scripts).where(
            retention_scripts.c.id == script_id, retention_scripts.c.org_id == org_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            raise NotFound(f"retention script {script_id} not found")
        return self._script_of(row)

    async def _free_name(self, conn: AsyncConnection, org_id: uuid.UUID, name: str) -> str:
        """`name`, or `name (2)`, `name (3)`... when a script of the org already has it."""
        taken = set(
            (
                await conn.execute(
                    sa.select(retention_scripts.c.name).where(retention_scripts.c.org_id == org_id)
                )
            ).scalars()
        )
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name} ({n})"
        return candidate

    async def _insert_script(
        self,
        conn: AsyncConnection,
        *,
        org_id: uuid.UUID,
        plugin_id: str,
        name: str,
        description: str,
        contents: str,
        export_url: str | None,
        frequency_s: int,
        cluster_ids: tuple[uuid.UUID, ...],
        enabled: bool,
        is_preset: bool,
    ) -> uuid.UUID:
        script_id = uuid.uuid4()
        now = _now()
        await conn.execute(
            sa.insert(retention_scripts).values(
                id=script_id,
                org_id=org_id,
                plugin_id=plugin_id,
                name=name,
                description=description,
                contents=contents,
                export_url=None
                if not export_url
                else self._cipher.encrypt(export_url.encode(), _script_aad(script_id)),
                frequency_s=frequency_s,
                cluster_ids=list(cluster_ids),
                enabled=enabled,
                is_preset=is_preset,
                created_at=now,
                updated_at=now,
            )
        )
        return script_id

    async def create_script(
        self,
        *,
        org_id: uuid.UUID,
        plugin_id: str,
        name: str,
        description: str,
        contents: str,
        export_url: str | None,
        frequency_s: int,
        cluster_ids: tuple[uuid.UUID, ...],
        enabled: bool,
    ) -> uuid.UUID:
        try:
            async with self._engine.begin() as conn:
                return await self._insert_script(
                    conn,
                    org_id=org_id,
                    plugin_id=plugin_id,
                    name=name,
                    description=description,
                    contents=contents,
                    export_url=export_url,
                    frequency_s=frequency_s,
                    cluster_ids=cluster_ids,
                    enabled=enabled,
                    is_preset=False,
                )
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise AlreadyExists(f"a retention script named {name!r} exists") from None
            # The foreign key: the plugin is not enabled for the org (it was just disabled).
            raise FailedPrecondition(f"plugin {plugin_id!r} is not enabled") from None

    async def update_script(
        self, org_id: uuid.UUID, script_id: uuid.UUID, changes: ScriptChanges
    ) -> RetentionScriptRecord:
        values: dict[str, Any] = {"updated_at": _now()}
        if changes.name is not None:
            values["name"] = changes.name
        if changes.description is not None:
            values["description"] = changes.description
        if changes.enabled is not None:
            values["enabled"] = changes.enabled
        if changes.frequency_s is not None:
            values["frequency_s"] = changes.frequency_s
        if changes.contents is not None:
            values["contents"] = changes.contents
        if changes.export_url is not None:
            values["export_url"] = (
                self._cipher.encrypt(changes.export_url.encode(), _script_aad(script_id))
                if changes.export_url
                else None
            )
        if changes.cluster_ids is not None:
            values["cluster_ids"] = list(changes.cluster_ids)
        statement = (
            sa.update(retention_scripts)
            .where(retention_scripts.c.id == script_id, retention_scripts.c.org_id == org_id)
            .values(**values)
            .returning(*retention_scripts.c)
        )
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(statement)).one_or_none()
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise AlreadyExists(f"a retention script named {changes.name!r} exists") from None
            raise
        if row is None:
            raise NotFound(f"retention script {script_id} not found")
        return self._script_of(row)

    async def delete_script(self, org_id: uuid.UUID, script_id: uuid.UUID) -> None:
        statement = sa.delete(retention_scripts).where(
            retention_scripts.c.id == script_id, retention_scripts.c.org_id == org_id
        )
        async with self._engine.begin() as conn:
            deleted = (await conn.execute(statement)).rowcount
        if not deleted:
            raise NotFound(f"retention script {script_id} not found")

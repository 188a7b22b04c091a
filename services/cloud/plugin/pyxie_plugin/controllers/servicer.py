"""`px.cloudapi.PluginService`: plugin releases, org retention configs, retention scripts.

Every call acts in the caller's org (`caller.resolve_caller`): another org's scripts are
NotFound, as if they did not exist. Mutations need an admin caller (a read-only API key gets
PermissionDenied); an API key limited to clusters may touch only scripts limited to its
clusters and never the org-wide plugin config. Secrets (config values) are answered as `MASK`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Protocol

import grpc
from pyxie_jwt import TokenVerifier
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_service import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceRegistration,
)
from pyxie_service.audit import audit

from pyxie_plugin.controllers.caller import Caller, resolve_caller
from pyxie_plugin.controllers.releases import PluginRelease, ReleaseCatalog
from pyxie_plugin.controllers.store import (
    OrgPluginConfig,
    PluginStore,
    RetentionScriptRecord,
    ScriptChanges,
)
from pyxie_plugin.controllers.validation import (
    MASK,
    check_cluster_ids,
    check_contents,
    check_description,
    check_export_url,
    check_frequency,
    check_header_configs,
    check_script_name,
    redact_url,
    uuid_from_pb,
    uuid_to_pb,
)

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["PLUGIN_SERVICE_NAME", "PluginServicer", "ScriptsChangedListener"]

PLUGIN_SERVICE_NAME: Final = "px.cloudapi.PluginService"


class ScriptsChangedListener(Protocol):
    """Told (without waiting) which scripts of an org changed, so viziers get them."""

    def scripts_changed(self, org_id: uuid.UUID, script_ids: Iterable[uuid.UUID]) -> None: ...


def _metadata(context: _Context) -> tuple[tuple[str, Any], ...]:
    return tuple(context.invocation_metadata() or ())


def _script_pb(record: RetentionScriptRecord) -> cpb.RetentionScript:
    return cpb.RetentionScript(
        script_id=uuid_to_pb(record.id),
        script_name=record.name,
        description=record.description,
        frequency_s=record.frequency_s,
        cluster_ids=[uuid_to_pb(c) for c in record.cluster_ids],
        plugin_id=record.plugin_id,
        enabled=record.enabled,
        is_preset=record.is_preset,
    )


class PluginServicer(cpb_grpc.PluginServiceServicer):
    def __init__(
        self,
        store: PluginStore,
        catalog: ReleaseCatalog,
        verifier: TokenVerifier,
        listener: ScriptsChangedListener,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._verifier = verifier
        self._listener = listener

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            PLUGIN_SERVICE_NAME,
            lambda server: cpb_grpc.add_PluginServiceServicer_to_server(self, server),
        )

    def _caller(self, context: _Context) -> Caller:
        return resolve_caller(_metadata(context), self._verifier)

    def _release(self, plugin_id: str, version: str = "") -> PluginRelease:
        if not plugin_id:
            raise InvalidArgument("plugin_id is required")
        release = (
            self._catalog.get(plugin_id, version) if version else self._catalog.latest(plugin_id)
        )
        if release is None:
            what = f"plugin {plugin_id!r}" + (f" version {version!r}" if version else "")
            raise NotFound(f"{what} not found")
        return release

    # -- plugins ---------------------------------------------------------------------------

    async def GetPlugins(
        self, request: cpb.GetPluginsRequest, context: _Context
    ) -> cpb.GetPluginsResponse:
        caller = self._caller(context)
        enabled = {c.plugin_id: c for c in await self._store.org_plugins(caller.org_id)}
        plugins = []
        for release in self._catalog.latest_releases():
            # Every release here supports retention; PK_RETENTION filters to those anyway.
            config = enabled.get(release.id)
            plugins.append(
                cpb.Plugin(
                    name=release.name,
                    id=release.id,
                    description=release.description,
                    logo=release.logo,
                    latest_version=release.version,
                    retention_supported=True,
                    retention_enabled=config is not None,
                    enabled_version=config.version if config else "",
                )
            )
        return cpb.GetPluginsResponse(plugins=plugins)

    async def GetRetentionPluginInfo(
        self, request: cpb.GetRetentionPluginInfoRequest, context: _Context
    ) -> cpb.GetRetentionPluginInfoResponse:
        self._caller(context)
        release = self._release(request.plugin_id, request.version)
        return cpb.GetRetentionPluginInfoResponse(
            configs=dict(release.configs),
            allow_custom_export_url=release.allow_custom_export_url,
            allow_insecure_tls=release.allow_insecure_tls,
            default_export_url=release.default_export_url,
        )

    async def GetOrgRetentionPluginConfig(
        self, request: cpb.GetOrgRetentionPluginConfigRequest, context: _Context
    ) -> cpb.GetOrgRetentionPluginConfigResponse:
        caller = self._caller(context)
        self._release(request.plugin_id)
        config = await self._store.org_plugin(caller.org_id, request.plugin_id)
        if config is None:
            raise NotFound(f"plugin {request.plugin_id!r} is not enabled for this org")
        return cpb.GetOrgRetentionPluginConfigResponse(
            configs={key: MASK for key in config.configs},
            custom_export_url=redact_url(config.custom_export_url or ""),
            insecure_tls=config.insecure_tls,
        )

    async def UpdateRetentionPluginConfig(
        self, request: cpb.UpdateRetentionPluginConfigRequest, context: _Context
    ) -> cpb.UpdateRetentionPluginConfigResponse:
        caller = self._caller(context)
        caller.require_admin("change plugin configs")
        caller.require_unlimited("change an org-wide plugin config")
        plugin_id = request.plugin_id
        self._release(plugin_id)
        current = await self._store.org_plugin(caller.org_id, plugin_id)
        if request.HasField("enabled") and not request.enabled.value:
            deleted = await self._store.delete_org_plugin(caller.org_id, plugin_id)
            audit(
                "plugin.disable",
                "applied",
                actor=caller.actor,
                org_id=str(caller.org_id),
                target=plugin_id,
            )
            self._listener.scripts_changed(caller.org_id, deleted)
            return cpb.UpdateRetentionPluginConfigResponse()
        if current is None and not (request.HasField("enabled") and request.enabled.value):
            raise FailedPrecondition(f"plugin {plugin_id!r} is not enabled; enable it first")
        version = request.version.value if request.HasField("version") else ""
        release = self._release(plugin_id, version or (current.version if current else ""))
        config = self._merged_config(request, release, current, caller)
        newly_enabled = current is None
        presets = release.presets if newly_enabled and not request.disable_presets.value else ()
        created = await self._store.save_org_plugin(config, presets=presets)
        audit(
            "plugin.enable" if newly_enabled else "plugin.configure",
            "applied",
            actor=caller.actor,
            org_id=str(caller.org_id),
            target=plugin_id,
            version=release.version,
            # Names of the headers only, never their values.
            config_keys=",".join(sorted(config.configs)),
        )
        changed = [
            s.id for s in await self._store.scripts(caller.org_id) if s.plugin_id == plugin_id
        ]
        self._listener.scripts_changed(caller.org_id, set(changed) | set(created))
        return cpb.UpdateRetentionPluginConfigResponse()

    def _merged_config(
        self,
        request: cpb.UpdateRetentionPluginConfigRequest,
        release: PluginRelease,
        current: OrgPluginConfig | None,
        caller: Caller,
    ) -> OrgPluginConfig:
        configs = dict(current.configs) if current else {}
        if request.configs:
            wanted = check_header_configs(
                request.configs, known=release.configs, any_header=release.configs_are_headers
            )
            # MASK sent back means "keep what is stored" (a client round-tripping a read).
            configs = {
                key: configs[key] if value == MASK and key in configs else value
                for key, value in wanted.items()
            }
            if any(value == MASK for value in configs.values()):
                raise InvalidArgument("a config value cannot be the mask of a value not set")
        url = current.custom_export_url if current else None
        if request.HasField("custom_export_url"):
            given = request.custom_export_url.value.strip()
            if not given:
                url = None
            elif url is None or given != redact_url(url):
                if not release.allow_custom_export_url:
                    raise InvalidArgument(f"plugin {release.id!r} does not allow a custom URL")
                url = check_export_url(given, "custom_export_url")
        if url is None and not release.default_export_url:
            raise InvalidArgument(f"plugin {release.id!r} needs custom_export_url (no default)")
        insecure = current.insecure_tls if current else False
        if request.HasField("insecure_tls"):
            if request.insecure_tls.value and not release.allow_insecure_tls:
                raise InvalidArgument(f"plugin {release.id!r} does not allow insecure TLS")
            insecure = request.insecure_tls.value
        return OrgPluginConfig(
            org_id=caller.org_id,
            plugin_id=release.id,
            version=release.version,
            configs=configs,
            custom_export_url=url,
            insecure_tls=insecure,
        )

    # -- retention scripts -----------------------------------------------------------------

    async def _visible_script(self, caller: Caller, script_id: uuid.UUID) -> RetentionScriptRecord:
        record = await self._store.script(caller.org_id, script_id)
        if not caller.may_see(record.cluster_ids):
            raise NotFound(f"retention script {script_id} not found")
        return record

    async def GetRetentionScripts(
        self, request: cpb.GetRetentionScriptsRequest, context: _Context
    ) -> cpb.GetRetentionScriptsResponse:
        caller = self._caller(context)
        records = await self._store.scripts(caller.org_id)
        return cpb.GetRetentionScriptsResponse(
            scripts=[_script_pb(r) for r in records if caller.may_see(r.cluster_ids)]
        )

    async def GetRetentionScript(
        self, request: cpb.GetRetentionScriptRequest, context: _Context
    ) -> cpb.GetRetentionScriptResponse:
        caller = self._caller(context)
        record = await self._visible_script(caller, uuid_from_pb(request.id, "script id"))
        return cpb.GetRetentionScriptResponse(
            script=_script_pb(record),
            contents=record.contents,
            export_url=redact_url(record.export_url or ""),
        )

    async def CreateRetentionScript(
        self, request: cpb.CreateRetentionScriptRequest, context: _Context
    ) -> cpb.CreateRetentionScriptResponse:
        caller = self._caller(context)
        caller.require_admin("create retention scripts")
        cluster_ids = check_cluster_ids(request.cluster_ids)
        caller.require_covers(cluster_ids, "create retention scripts")
        self._release(request.plugin_id)
        if await self._store.org_plugin(caller.org_id, request.plugin_id) is None:
            raise FailedPrecondition(f"plugin {request.plugin_id!r} is not enabled for this org")
        script_id = await self._store.create_script(
            org_id=caller.org_id,
            plugin_id=request.plugin_id,
            name=check_script_name(request.script_name),
            description=check_description(request.description),
            contents=check_contents(request.contents),
            export_url=check_export_url(request.export_url) if request.export_url else None,
            frequency_s=check_frequency(request.frequency_s),
            cluster_ids=cluster_ids,
            enabled=not request.disabled,
        )
        audit(
            "plugin.script.create",
            "applied",
            actor=caller.actor,
            org_id=str(caller.org_id),
            target=str(script_id),
        )
        self._listener.scripts_changed(caller.org_id, [script_id])
        return cpb.CreateRetentionScriptResponse(id=uuid_to_pb(script_id))

    async def UpdateRetentionScript(
        self, request: cpb.UpdateRetentionScriptRequest, context: _Context
    ) -> cpb.UpdateRetentionScriptResponse:
        caller = self._caller(context)
        caller.require_admin("update retention scripts")
        record = await self._visible_script(caller, uuid_from_pb(request.id, "script id"))
        cluster_ids = check_cluster_ids(request.cluster_ids)
        caller.require_covers(cluster_ids, "update retention scripts")
        contents = request.contents.value if request.HasField("contents") else None
        if contents is not None and record.is_preset and contents != record.contents:
            raise FailedPrecondition("a preset script's contents cannot be edited; copy it")
        export_url = None
        if request.HasField("export_url"):
            given = request.export_url.value.strip()
            export_url = (
                ""
                if not given
                else (
                    record.export_url
                    if record.export_url and given == redact_url(record.export_url)
                    else check_export_url(given)
                )
            )
        changes = ScriptChanges(
            name=check_script_name(request.script_name.value)
            if request.HasField("script_name")
            else None,
            description=check_description(request.description.value)
            if request.HasField("description")
            else None,
            enabled=request.enabled.value if request.HasField("enabled") else None,
            frequency_s=check_frequency(request.frequency_s.value)
            if request.HasField("frequency_s")
            else None,
            contents=check_contents(contents) if contents is not None else None,
            export_url=export_url,
            cluster_ids=cluster_ids,
        )
        await self._store.update_script(caller.org_id, record.id, changes)
        audit(
            "plugin.script.update",
            "applied",
            actor=caller.actor,
            org_id=str(caller.org_id),
            target=str(record.id),
        )
        self._listener.scripts_changed(caller.org_id, [record.id])
        return cpb.UpdateRetentionScriptResponse()

    async def DeleteRetentionScript(
        self, request: cpb.DeleteRetentionScriptRequest, context: _Context
    ) -> cpb.DeleteRetentionScriptResponse:
        caller = self._caller(context)
        caller.require_admin("delete retention scripts")
        record = await self._visible_script(caller, uuid_from_pb(request.id, "script id"))
        if caller.cluster_ids and not record.cluster_ids:
            raise PermissionDenied("an API key limited to clusters cannot delete this script")
        await self._store.delete_script(caller.org_id, record.id)
        audit(
            "plugin.script.delete",
            "applied",
            actor=caller.actor,
            org_id=str(caller.org_id),
            target=str(record.id),
        )
        self._listener.scripts_changed(caller.org_id, [record.id])
        return cpb.DeleteRetentionScriptResponse()

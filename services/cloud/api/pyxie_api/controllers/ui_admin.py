"""The web UI's admin endpoints: users and invites, org settings, the audit log, plugins.

Each route runs for the session's caller (`acting_as`) through the same servicers the public
gRPC API uses, so the scope checks are the same: a read-only session never reaches a mutating
method (the api refuses it, and auth or the plugin service check again). Every mutating route
also calls `require_admin` itself before building a request, so a refusal costs no backend call.

* `GET /api/ui/org`, `PUT /api/ui/org` (`enableApprovals`), `POST/DELETE /api/ui/org/ide-configs`
* `GET /api/ui/users`, `PUT /api/ui/users/<id>` (`isApproved`), `DELETE /api/ui/users/<id>`
* `POST /api/ui/invites` (`email` → a one-use invite link), `POST /api/ui/invite-tokens`,
  `DELETE /api/ui/invite-tokens` (revoke all), `POST /api/ui/invite-tokens/verify`
* `GET /api/ui/audit?action=&limit=&offset=` (org admins; newest first)
* `GET /api/ui/plugins`, `GET/PUT /api/ui/plugins/<id>`, retention scripts under
  `/api/ui/retention-scripts` — secrets come back masked, as the plugin service answers them.
* `POST /api/ui/signup` (no session): an invited person creates their account with the
  invite's token and is signed in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from google.protobuf.wrappers_pb2 import BoolValue, Int64Value, StringValue
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.cloud.auditpb import audit_pb2
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_service import InvalidArgument, NotFound
from sanic import Request
from sanic import json as json_response
from sanic.response import HTTPResponse

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import Caller
from pyxie_api.controllers.ids import parse_uuid, uuid_from_pb, uuid_to_pb
from pyxie_api.controllers.plugins import PluginProxyServicer
from pyxie_api.controllers.profile import OrganizationServicer, UserServicer

__all__ = ["AdminRoute", "admin_routes", "json_object", "signup"]

AdminRoute = tuple[str, str, Callable[[Request, Caller], Awaitable[HTTPResponse]]]

# The audit page pages through at most this many of the newest events (auth's cap).
_AUDIT_MAX: Final = 1000
_AUDIT_PAGE_MAX: Final = 200
_MAX_TEXT: Final = 4096


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body (a client error otherwise)."""
    if request.content_type.split(";")[0].strip() != "application/json":
        raise InvalidArgument("send a JSON body (Content-Type: application/json)")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidArgument("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidArgument("send a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidArgument(f"send '{name}' as a non-empty string")
    if len(value) > _MAX_TEXT:
        raise InvalidArgument(f"'{name}' is too long")
    return value


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidArgument(f"'{name}' must be true or false")
    return value


def _path_id(request: Request, name: str) -> Any:
    return uuid_to_pb(parse_uuid(str(request.match_info.get(name, "")), name))


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low} and {high}")
    return value


def _user_json(user: cpb.UserInfo) -> dict[str, Any]:
    return {
        "id": uuid_from_pb(user.id, "user id"),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "isApproved": user.is_approved,
        "profilePicture": user.profile_picture,
    }


def _script_json(script: cpb.RetentionScript) -> dict[str, Any]:
    return {
        "id": uuid_from_pb(script.script_id, "script id"),
        "name": script.script_name,
        "description": script.description,
        "frequencyS": script.frequency_s,
        "clusterIds": [uuid_from_pb(c, "cluster id") for c in script.cluster_ids],
        "pluginId": script.plugin_id,
        "enabled": script.enabled,
        "isPreset": script.is_preset,
    }


def admin_routes(backends: CloudBackends, plugins: PluginProxyServicer | None) -> list[AdminRoute]:
    """The admin routes, as (method, path, handler) for `register_ui_routes`."""
    users = UserServicer(backends)
    orgs = OrganizationServicer(backends)
    ctx: Any = None  # the servicers read the caller from `acting_as`, not from a context

    def org_pb(caller: Caller) -> Any:
        return uuid_to_pb(caller.require_org())

    # -- org settings ------------------------------------------------------------------------

    async def get_org(request: Request, caller: Caller) -> HTTPResponse:
        org = await orgs.GetOrg(org_pb(caller), ctx)
        configs = await orgs.GetOrgIDEConfigs(
            cpb.GetOrgIDEConfigsRequest(org_id=org_pb(caller)), ctx
        )
        return json_response(
            {
                "id": uuid_from_pb(org.id, "org id"),
                "name": org.org_name,
                "domainName": org.domain_name,
                "enableApprovals": org.enable_approvals,
                "ideConfigs": [{"ideName": c.ide_name, "path": c.path} for c in configs.configs],
            }
        )

    async def update_org(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("change org settings")
        approvals = _flag(json_object(request), "enableApprovals")
        if approvals is None:
            raise InvalidArgument("send 'enableApprovals'")
        org = await orgs.UpdateOrg(
            cpb.UpdateOrgRequest(id=org_pb(caller), enable_approvals=BoolValue(value=approvals)),
            ctx,
        )
        return json_response({"enableApprovals": org.enable_approvals})

    async def add_ide_config(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("change IDE configs")
        body = json_object(request)
        added = await orgs.AddOrgIDEConfig(
            cpb.AddOrgIDEConfigRequest(
                org_id=org_pb(caller),
                config=cpb.IDEConfig(ide_name=_text(body, "ideName"), path=_text(body, "path")),
            ),
            ctx,
        )
        return json_response(
            {"ideName": added.config.ide_name, "path": added.config.path}, status=201
        )

    async def delete_ide_config(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("change IDE configs")
        name = str(request.match_info.get("ide_name", ""))
        await orgs.DeleteOrgIDEConfig(
            cpb.DeleteOrgIDEConfigRequest(org_id=org_pb(caller), ide_name=name), ctx
        )
        return json_response({"deleted": True})

    # -- users and invites -------------------------------------------------------------------

    async def list_users(request: Request, caller: Caller) -> HTTPResponse:
        members = await orgs.GetUsersInOrg(cpb.GetUsersInOrgRequest(org_id=org_pb(caller)), ctx)
        return json_response({"users": [_user_json(u) for u in members.users]})

    async def update_user(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("update users")
        approved = _flag(json_object(request), "isApproved")
        if approved is None:
            raise InvalidArgument("send 'isApproved'")
        user = await users.UpdateUser(
            cpb.UpdateUserRequest(
                id=_path_id(request, "user_id"), is_approved=BoolValue(value=approved)
            ),
            ctx,
        )
        return json_response(_user_json(user))

    async def remove_user(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("remove users from the org")
        user_id = _path_id(request, "user_id")
        if uuid_from_pb(user_id, "user id") == caller.user_id:
            raise InvalidArgument("you cannot remove yourself; ask another admin")
        await orgs.RemoveUserFromOrg(cpb.RemoveUserFromOrgRequest(user_id=user_id), ctx)
        return json_response({"removed": True})

    async def invite_user(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("invite users")
        email = _text(json_object(request), "email").strip()
        if "@" not in email:
            raise InvalidArgument("that is not an email address")
        invite = await orgs.InviteUser(cpb.InviteUserRequest(email=email), ctx)
        return json_response({"email": invite.email, "inviteLink": invite.invite_link}, status=201)

    async def create_invite_token(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("create invite tokens")
        token = await orgs.CreateInviteToken(
            cpb.CreateInviteTokenRequest(org_id=org_pb(caller)), ctx
        )
        return json_response({"token": token.signed_claims}, status=201)

    async def revoke_invite_tokens(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("revoke invite tokens")
        await orgs.RevokeAllInviteTokens(org_pb(caller), ctx)
        return json_response({"revoked": True})

    async def verify_invite_token(request: Request, caller: Caller) -> HTTPResponse:
        token = _text(json_object(request), "token")
        verified = await orgs.VerifyInviteToken(cpb.InviteToken(signed_claims=token), ctx)
        return json_response({"valid": verified.valid})

    # -- audit log ---------------------------------------------------------------------------

    async def audit_events(request: Request, caller: Caller) -> HTTPResponse:
        """The org's security events, newest first, a page at a time (org admins only)."""
        caller.require_admin("read the audit log")
        if backends.audit is None:
            raise NotFound("this cloud keeps no audit log")
        limit = _int_arg(request, "limit", 50, 1, _AUDIT_PAGE_MAX)
        offset = _int_arg(request, "offset", 0, 0, _AUDIT_MAX - 1)
        action = str(request.args.get("action", "")).strip()
        if len(action) > 128:
            raise InvalidArgument("action is too long")
        wanted = min(offset + limit + 1, _AUDIT_MAX)
        reply = await call_backend(
            "auth",
            backends.audit.ListAuditEvents(
                audit_pb2.ListAuditEventsRequest(limit=wanted, action=action),
                metadata=backends.metadata(caller.token),
                timeout=backends.timeout,
            ),
        )
        page = list(reply.events)[offset : offset + limit]
        return json_response(
            {
                "events": [
                    {
                        "atNs": event.at_ns,
                        "action": event.action,
                        "outcome": event.outcome,
                        "actor": event.actor,
                        "target": event.target,
                        "reason": event.reason,
                        "details": dict(event.details),
                    }
                    for event in page
                ],
                "offset": offset,
                "limit": limit,
                "hasMore": len(reply.events) > offset + limit,
            }
        )

    # -- plugins -----------------------------------------------------------------------------

    def plugin_service() -> PluginProxyServicer:
        if plugins is None:
            raise NotFound("this cloud runs no plugin service")
        return plugins

    async def list_plugins(request: Request, caller: Caller) -> HTTPResponse:
        listed = await plugin_service().GetPlugins(cpb.GetPluginsRequest(), ctx)
        return json_response(
            {
                "plugins": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "description": p.description,
                        "latestVersion": p.latest_version,
                        "retentionSupported": p.retention_supported,
                        "retentionEnabled": p.retention_enabled,
                        "enabledVersion": p.enabled_version,
                    }
                    for p in listed.plugins
                ]
            }
        )

    async def get_plugin(request: Request, caller: Caller) -> HTTPResponse:
        service = plugin_service()
        plugin_id = str(request.match_info.get("plugin_id", ""))
        info = await service.GetRetentionPluginInfo(
            cpb.GetRetentionPluginInfoRequest(plugin_id=plugin_id), ctx
        )
        config: dict[str, Any] | None
        try:
            org = await service.GetOrgRetentionPluginConfig(
                cpb.GetOrgRetentionPluginConfigRequest(plugin_id=plugin_id), ctx
            )
        except NotFound:
            config = None
        else:
            config = {
                "configs": dict(org.configs),
                "customExportUrl": org.custom_export_url,
                "insecureTls": org.insecure_tls,
            }
        return json_response(
            {
                "id": plugin_id,
                "configs": dict(info.configs),
                "allowCustomExportUrl": info.allow_custom_export_url,
                "allowInsecureTls": info.allow_insecure_tls,
                "defaultExportUrl": info.default_export_url,
                "orgConfig": config,
            }
        )

    async def update_plugin(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("change plugin configs")
        body = json_object(request)
        update = cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=str(request.match_info.get("plugin_id", ""))
        )
        enabled = _flag(body, "enabled")
        if enabled is not None:
            update.enabled.CopyFrom(BoolValue(value=enabled))
        configs = body.get("configs") or {}
        if not isinstance(configs, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in configs.items()
        ):
            raise InvalidArgument("'configs' must be an object of strings")
        update.configs.update(configs)
        if "customExportUrl" in body:
            update.custom_export_url.CopyFrom(
                StringValue(value=_text(body, "customExportUrl", required=False))
            )
        insecure = _flag(body, "insecureTls")
        if insecure is not None:
            update.insecure_tls.CopyFrom(BoolValue(value=insecure))
        presets = _flag(body, "disablePresets")
        if presets is not None:
            update.disable_presets.CopyFrom(BoolValue(value=presets))
        await plugin_service().UpdateRetentionPluginConfig(update, ctx)
        return json_response({"updated": True})

    async def list_scripts(request: Request, caller: Caller) -> HTTPResponse:
        listed = await plugin_service().GetRetentionScripts(cpb.GetRetentionScriptsRequest(), ctx)
        return json_response({"scripts": [_script_json(s) for s in listed.scripts]})

    async def get_script(request: Request, caller: Caller) -> HTTPResponse:
        got = await plugin_service().GetRetentionScript(
            cpb.GetRetentionScriptRequest(id=_path_id(request, "script_id")), ctx
        )
        return json_response(
            {**_script_json(got.script), "contents": got.contents, "exportUrl": got.export_url}
        )

    def _clusters(body: dict[str, Any]) -> list[Any]:
        ids = body.get("clusterIds") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgument("'clusterIds' must be a list of cluster ids")
        return [uuid_to_pb(parse_uuid(i, "cluster id")) for i in ids]

    def _frequency(body: dict[str, Any]) -> int:
        value = body.get("frequencyS")
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument("'frequencyS' must be a whole number of seconds")
        return value

    async def create_script(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("create retention scripts")
        body = json_object(request)
        created = await plugin_service().CreateRetentionScript(
            cpb.CreateRetentionScriptRequest(
                script_name=_text(body, "name"),
                description=_text(body, "description", required=False),
                frequency_s=_frequency(body),
                contents=_text(body, "contents"),
                export_url=_text(body, "exportUrl", required=False),
                cluster_ids=_clusters(body),
                plugin_id=_text(body, "pluginId"),
                disabled=_flag(body, "disabled") or False,
            ),
            ctx,
        )
        return json_response({"id": uuid_from_pb(created.id, "script id")}, status=201)

    async def update_script(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("update retention scripts")
        body = json_object(request)
        update = cpb.UpdateRetentionScriptRequest(id=_path_id(request, "script_id"))
        for field, key in (
            ("script_name", "name"),
            ("description", "description"),
            ("contents", "contents"),
            ("export_url", "exportUrl"),
        ):
            if key in body:
                getattr(update, field).CopyFrom(
                    StringValue(value=_text(body, key, required=key == "name"))
                )
        enabled = _flag(body, "enabled")
        if enabled is not None:
            update.enabled.CopyFrom(BoolValue(value=enabled))
        if "frequencyS" in body:
            update.frequency_s.CopyFrom(Int64Value(value=_frequency(body)))
        if "clusterIds" in body:
            update.cluster_ids.extend(_clusters(body))
        await plugin_service().UpdateRetentionScript(update, ctx)
        return json_response({"updated": True})

    async def delete_script(request: Request, caller: Caller) -> HTTPResponse:
        caller.require_admin("delete retention scripts")
        await plugin_service().DeleteRetentionScript(
            cpb.DeleteRetentionScriptRequest(id=_path_id(request, "script_id")), ctx
        )
        return json_response({"deleted": True})

    return [
        ("GET", "/api/ui/org", get_org),
        ("PUT", "/api/ui/org", update_org),
        ("POST", "/api/ui/org/ide-configs", add_ide_config),
        ("DELETE", "/api/ui/org/ide-configs/<ide_name>", delete_ide_config),
        ("GET", "/api/ui/users", list_users),
        ("PUT", "/api/ui/users/<user_id>", update_user),
        ("DELETE", "/api/ui/users/<user_id>", remove_user),
        ("POST", "/api/ui/invites", invite_user),
        ("POST", "/api/ui/invite-tokens", create_invite_token),
        ("DELETE", "/api/ui/invite-tokens", revoke_invite_tokens),
        ("POST", "/api/ui/invite-tokens/verify", verify_invite_token),
        ("GET", "/api/ui/audit", audit_events),
        ("GET", "/api/ui/plugins", list_plugins),
        ("GET", "/api/ui/plugins/<plugin_id>", get_plugin),
        ("PUT", "/api/ui/plugins/<plugin_id>", update_plugin),
        ("GET", "/api/ui/retention-scripts", list_scripts),
        ("POST", "/api/ui/retention-scripts", create_script),
        ("GET", "/api/ui/retention-scripts/<script_id>", get_script),
        ("PUT", "/api/ui/retention-scripts/<script_id>", update_script),
        ("DELETE", "/api/ui/retention-scripts/<script_id>", delete_script),
    ]


async def signup(backends: CloudBackends, request: Request) -> auth_pb2.LoginResponse:
    """An invited person's sign-up: only with an invite token (no open org creation here)."""
    body = json_object(request)
    token = _text(body, "inviteToken").strip()
    email = _text(body, "email").strip()
    password = _text(body, "password")
    name = _text(body, "name", required=False).strip()
    login: auth_pb2.LoginResponse = await call_backend(
        "auth",
        backends.auth.Signup(
            auth_pb2.SignupRequest(email=email, password=password, name=name, invite_token=token),
            metadata=backends.metadata(),
            timeout=backends.timeout,
        ),
    )
    return login

"""``px plugin`` and ``px retention-script``: the cloud's PluginService from the command line.

Plugins export a cluster's data for long-term retention (Pyxie ships the OpenTelemetry plugin,
id ``otel``). Enabling one for your org installs its preset retention scripts, which every
vizier of the org then runs on their schedule and exports to the plugin's endpoint.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO

from google.protobuf import wrappers_pb2
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

__all__ = ["PLUGIN_COMMANDS", "register_plugin_commands", "run_plugin_command"]

PLUGIN_COMMANDS: Final = ("plugin", "retention-script")

_PLUGIN_EXAMPLES: Final = """examples:
  px plugin list
  px plugin info otel
  px plugin enable otel --export-url otel-collector.example.com:4317 --header-env api-key=OTLP_KEY
  px plugin enable otel --export-url localhost:4317 --insecure --no-presets
  px plugin config otel                 # the org's settings; secret values show as ********
  px plugin disable otel                # also deletes the org's scripts of the plugin
"""

_SCRIPT_EXAMPLES: Final = """examples:
  px retention-script list
  px retention-script show 2f0c6c1e-...
  px retention-script create --name "slow requests" --plugin otel -f slow.pxl --frequency 60
  px retention-script create --name "prod only" --plugin otel -f m.pxl --cluster <vizier id>
  px retention-script update 2f0c6c1e-... --frequency 30 --disable
  px retention-script delete 2f0c6c1e-...
"""


class _Fail(Exception):
    pass


def _headers(pairs: list[str], env_pairs: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _Fail(f"--header wants name=value, got {name!r}")
        headers[name] = value
    for pair in env_pairs:
        name, sep, variable = pair.partition("=")
        if not sep or not name or not variable:
            raise _Fail("--header-env wants name=ENV_VARIABLE")
        if variable not in os.environ:
            raise _Fail(f"--header-env {name}: ${variable} is not set")
        headers[name] = os.environ[variable]
    return headers


def _plugin(args: argparse.Namespace, out: TextIO, cloud: Any, helpers: Any) -> int:
    stub = cpb_grpc.PluginServiceStub(cloud.channel)
    command = args.plugin_command
    if command == "list":
        listed = cloud.call(stub.GetPlugins, cpb.GetPluginsRequest())
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "latestVersion": p.latest_version,
                "enabled": "yes" if p.retention_enabled else "no",
                "enabledVersion": p.enabled_version,
                "description": p.description,
            }
            for p in listed.plugins
        ]
        helpers.print_rows(
            out, rows, args.output, ("id", "name", "latestVersion", "enabled", "enabledVersion")
        )
        return 0
    if command == "info":
        info = cloud.call(
            stub.GetRetentionPluginInfo, cpb.GetRetentionPluginInfoRequest(plugin_id=args.id)
        )
        out.write(f"default export URL: {info.default_export_url or '(none: set one)'}\n")
        out.write(f"custom export URL allowed: {'yes' if info.allow_custom_export_url else 'no'}\n")
        out.write(f"insecure TLS allowed: {'yes' if info.allow_insecure_tls else 'no'}\n")
        for key, description in sorted(info.configs.items()):
            out.write(f"config {key}: {description}\n")
        return 0
    if command == "config":
        config = cloud.call(
            stub.GetOrgRetentionPluginConfig,
            cpb.GetOrgRetentionPluginConfigRequest(plugin_id=args.id),
        )
        out.write(f"export URL: {config.custom_export_url or '(the plugin default)'}\n")
        out.write(f"insecure TLS: {'yes' if config.insecure_tls else 'no'}\n")
        for key, value in sorted(config.configs.items()):
            out.write(f"header {key}: {value}\n")
        return 0
    if command == "enable":
        request = cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=args.id,
            configs=_headers(args.header, args.header_env),
            enabled=wrappers_pb2.BoolValue(value=True),
            disable_presets=wrappers_pb2.BoolValue(value=args.no_presets),
        )
        if args.export_url is not None:
            request.custom_export_url.value = args.export_url
        if args.insecure is not None:
            request.insecure_tls.value = args.insecure
        if args.version:
            request.version.value = args.version
        cloud.call(stub.UpdateRetentionPluginConfig, request)
        scripts = cloud.call(stub.GetRetentionScripts, cpb.GetRetentionScriptsRequest())
        mine = [s for s in scripts.scripts if s.plugin_id == args.id]
        out.write(f"Plugin {args.id} enabled; {len(mine)} retention script(s)\n")
        return 0
    cloud.call(
        stub.UpdateRetentionPluginConfig,
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=args.id, enabled=wrappers_pb2.BoolValue(value=False)
        ),
    )
    out.write(f"Plugin {args.id} disabled; its retention scripts were removed\n")
    return 0


def _read_contents(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _Fail(f"cannot read {path}: {exc.strerror}") from None


def _script(args: argparse.Namespace, out: TextIO, cloud: Any, helpers: Any) -> int:
    stub = cpb_grpc.PluginServiceStub(cloud.channel)
    command = args.script_command
    if command == "list":
        listed = cloud.call(stub.GetRetentionScripts, cpb.GetRetentionScriptsRequest())
        rows = [
            {
                "id": helpers.uuid_text(s.script_id),
                "name": s.script_name,
                "plugin": s.plugin_id,
                "frequencyS": s.frequency_s,
                "clusters": ",".join(helpers.uuid_text(c) for c in s.cluster_ids) or "all",
                "enabled": "yes" if s.enabled else "no",
                "preset": "yes" if s.is_preset else "no",
            }
            for s in listed.scripts
        ]
        columns = ("id", "name", "plugin", "frequencyS", "clusters", "enabled", "preset")
        helpers.print_rows(out, rows, args.output, columns)
        return 0
    if command == "show":
        got = cloud.call(
            stub.GetRetentionScript, cpb.GetRetentionScriptRequest(id=helpers.uuid_pb(args.id))
        )
        s = got.script
        out.write(f"name: {s.script_name}\nplugin: {s.plugin_id}\n")
        out.write(f"description: {s.description}\nfrequency: {s.frequency_s}s\n")
        clusters = ",".join(helpers.uuid_text(c) for c in s.cluster_ids) or "all"
        out.write(f"clusters: {clusters}\nenabled: {'yes' if s.enabled else 'no'}\n")
        out.write(f"preset: {'yes' if s.is_preset else 'no'}\n")
        out.write(f"export URL: {got.export_url or '(the plugin config)'}\n---\n{got.contents}")
        if not got.contents.endswith("\n"):
            out.write("\n")
        return 0
    if command == "create":
        created = cloud.call(
            stub.CreateRetentionScript,
            cpb.CreateRetentionScriptRequest(
                script_name=args.name,
                description=args.description,
                frequency_s=args.frequency,
                contents=_read_contents(args.file),
                export_url=args.export_url,
                cluster_ids=[helpers.uuid_pb(c) for c in args.cluster],
                plugin_id=args.plugin,
                disabled=args.disable,
            ),
        )
        out.write(f"Created retention script {helpers.uuid_text(created.id)}\n")
        return 0
    script_id = helpers.uuid_pb(args.id)
    if command == "delete":
        cloud.call(stub.DeleteRetentionScript, cpb.DeleteRetentionScriptRequest(id=script_id))
        out.write(f"Deleted retention script {args.id}\n")
        return 0
    # update: the request's cluster list replaces the stored one, so keep it unless given.
    current = cloud.call(stub.GetRetentionScript, cpb.GetRetentionScriptRequest(id=script_id))
    request = cpb.UpdateRetentionScriptRequest(id=script_id)
    if args.cluster is not None:
        request.cluster_ids.extend(helpers.uuid_pb(c) for c in args.cluster)
    else:
        request.cluster_ids.extend(current.script.cluster_ids)
    if args.name is not None:
        request.script_name.value = args.name
    if args.description is not None:
        request.description.value = args.description
    if args.frequency is not None:
        request.frequency_s.value = args.frequency
    if args.file is not None:
        request.contents.value = _read_contents(args.file)
    if args.export_url is not None:
        request.export_url.value = args.export_url
    if args.enabled is not None:
        request.enabled.value = args.enabled
    cloud.call(stub.UpdateRetentionScript, request)
    out.write(f"Updated retention script {args.id}\n")
    return 0


def register_plugin_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    plugin = sub.add_parser(
        "plugin",
        help="list, enable and disable export plugins for your org",
        description=__doc__,
        epilog=_PLUGIN_EXAMPLES,
        formatter_class=raw,
    )
    plugin_sub = plugin.add_subparsers(dest="plugin_command", required=True)
    listing = plugin_sub.add_parser("list", help="the plugins and whether your org enabled them")
    common(listing)
    listing.add_argument("-o", "--output", choices=["table", "json"], default="table")
    for name, text in (
        ("info", "what a plugin can be configured with"),
        ("config", "your org's settings of a plugin (secrets masked)"),
        ("disable", "disable a plugin (its retention scripts are deleted)"),
    ):
        parser = plugin_sub.add_parser(name, help=text)
        common(parser)
        parser.add_argument("id", help="plugin id, e.g. otel")
    enable = plugin_sub.add_parser(
        "enable",
        help="enable (or reconfigure) a plugin for your org",
        epilog=_PLUGIN_EXAMPLES,
        formatter_class=raw,
    )
    common(enable)
    enable.add_argument("id", help="plugin id, e.g. otel")
    enable.add_argument("--export-url", default=None, help="OTLP/gRPC target, host:port or URL")
    enable.add_argument(
        "--insecure",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="export without TLS (a local collector)",
    )
    enable.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an OTLP header (e.g. api-key=...); visible in your shell history, see --header-env",
    )
    enable.add_argument(
        "--header-env",
        action="append",
        default=[],
        metavar="NAME=ENV_VAR",
        help="an OTLP header whose value is read from an environment variable",
    )
    enable.add_argument("--version", default="", help="plugin version (default: the latest)")
    enable.add_argument("--no-presets", action="store_true", help="do not install preset scripts")

    script = sub.add_parser(
        "retention-script",
        help="manage the retention scripts your org's viziers run for plugins",
        description="Retention scripts are PxL scripts run on a schedule on your viziers; "
        "their px.export output goes to the plugin's endpoint.",
        epilog=_SCRIPT_EXAMPLES,
        formatter_class=raw,
    )
    script_sub = script.add_subparsers(dest="script_command", required=True)
    listing = script_sub.add_parser("list", help="your org's retention scripts")
    common(listing)
    listing.add_argument("-o", "--output", choices=["table", "json"], default="table")
    for name, text in (("show", "one script with its PxL"), ("delete", "delete a script")):
        parser = script_sub.add_parser(name, help=text)
        common(parser)
        parser.add_argument("id", help="script id (see `px retention-script list`)")
    create = script_sub.add_parser(
        "create", help="add a script", epilog=_SCRIPT_EXAMPLES, formatter_class=raw
    )
    common(create)
    create.add_argument("--name", required=True)
    create.add_argument("--plugin", default="otel", help="plugin id (default: otel)")
    create.add_argument("-f", "--file", required=True, help="the .pxl file (uses px.export)")
    create.add_argument("--frequency", type=int, default=60, help="seconds between runs")
    create.add_argument("--description", default="")
    create.add_argument(
        "--cluster", action="append", default=[], help="run only on this vizier (repeatable)"
    )
    create.add_argument("--export-url", default="", help="override the plugin's export URL")
    create.add_argument("--disable", action="store_true", help="create it disabled")
    update = script_sub.add_parser(
        "update", help="change a script", epilog=_SCRIPT_EXAMPLES, formatter_class=raw
    )
    common(update)
    update.add_argument("id")
    update.add_argument("--name", default=None)
    update.add_argument("--description", default=None)
    update.add_argument("-f", "--file", default=None, help="new PxL (not for preset scripts)")
    update.add_argument("--frequency", type=int, default=None)
    update.add_argument(
        "--cluster", action="append", default=None, help="replace the clusters (repeatable)"
    )
    update.add_argument("--export-url", default=None, help='"" to use the plugin\'s again')
    update.add_argument(
        "--enable", dest="enabled", action="store_true", default=None, help="enable it"
    )
    update.add_argument("--disable", dest="enabled", action="store_false", help="disable it")


def run_plugin_command(args: argparse.Namespace, out: TextIO, cloud: Any, helpers: Any) -> int:
    """Run ``px plugin …`` / ``px retention-script …``; raises ValueError on bad arguments."""
    try:
        if args.command == "plugin":
            return _plugin(args, out, cloud, helpers)
        return _script(args, out, cloud, helpers)
    except _Fail as exc:
        raise ValueError(str(exc)) from None

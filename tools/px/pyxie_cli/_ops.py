"""``px`` commands around scripts and the local stack: version, script list|show, config,
demo deploy|delete, debug logs|pods, collect-logs, completion, update.

The local stack is the devstack's (processes under ``$PL_STATE_DIR``): its logs are files
there, its status comes from ``python -m pyxie_devstack … status``. Nothing here imports the
devstack, so ``px`` installed alone still answers (and says what to install).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import io
import json
import platform
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from pyxie_client.local import (
    LocalStackError,
    read_cloud_endpoints,
    read_vizier_endpoints,
    state_dir,
)
from pyxie_scripts import ScriptNotFoundError, list_scripts, load_script

from ._script import CliUsageError

__all__ = ["COMMANDS", "OpsError", "completion_script", "register", "run"]

COMMANDS: Final = (
    "version",
    "script",
    "config",
    "demo",
    "debug",
    "collect-logs",
    "completion",
    "update",
)
# Enough to see why a service stopped without flooding the terminal.
_DEFAULT_LOG_LINES: Final = 50
# A status command of the devstack answers at once; a hung one must not hang `px`.
_STATUS_TIMEOUT_S: Final = 60.0

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class OpsError(Exception):
    """A command failed in a way the user can act on (the message says how)."""


def _version() -> str:
    try:
        return importlib.metadata.version("pyxie-cli")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _sub(sub: Any, name: str, help_text: str, *examples: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=_examples(*examples) if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def register(sub: Any) -> None:
    _sub(sub, "version", "print the px version", "px version")

    script = _sub(
        sub,
        "script",
        "list the bundled scripts or show one's PxL",
        "px script list",
        "px script show px/http_data",
        "px script show px/http_data --vis",
    )
    script_sub = script.add_subparsers(dest="script_command", required=True)
    listing = script_sub.add_parser("list", help="the bundled scripts, with descriptions")
    listing.add_argument("-o", "--output", choices=["table", "json"], default="table")
    show = script_sub.add_parser("show", help="print a script's PxL (or its vis spec)")
    show.add_argument("name", help="a bundled script, e.g. px/http_data")
    show.add_argument("--vis", action="store_true", help="print the vis spec (JSON) instead")

    _sub(sub, "config", "show where px keeps its state and what it talks to", "px config")

    demo = _sub(
        sub,
        "demo",
        "the demo: a standalone vizier and the demo shop on this host (make demo)",
        "px demo deploy",
        "px demo delete",
    )
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    deploy = demo_sub.add_parser("deploy", help="start the vizier and the demo shop here")
    deploy.add_argument("--wait", type=float, default=180.0, help="seconds to wait for data")
    demo_sub.add_parser("delete", help="stop everything `px demo deploy` started")

    debug = _sub(
        sub,
        "debug",
        "the local stack's services: their logs and their process status",
        "px debug pods",
        "px debug logs",
        "px debug logs query_broker -n 200",
    )
    debug_sub = debug.add_subparsers(dest="debug_command", required=True)
    logs = debug_sub.add_parser("logs", help="the last lines of each service's log")
    logs.add_argument("service", nargs="?", default="", help="only logs whose name contains this")
    logs.add_argument("-n", "--lines", type=int, default=_DEFAULT_LOG_LINES)
    debug_sub.add_parser("pods", help="every service process: running, pid, restarts")

    collect = _sub(
        sub,
        "collect-logs",
        "write a tarball of every service's logs and status (attach it to a bug report)",
        "px collect-logs",
        "px collect-logs -o /tmp/pyxie-logs.tar.gz",
    )
    collect.add_argument("-o", "--output", default="", help="default: ./pyxie_logs_<time>.tar.gz")

    completion = _sub(
        sub,
        "completion",
        "print a shell completion script",
        "source <(px completion bash)",
        "px completion zsh > ~/.zfunc/_px",
    )
    completion.add_argument("shell", choices=["bash", "zsh"])

    update = _sub(sub, "update", "update the CLI or a vizier (see the message)", "px update cli")
    update.add_argument("what", choices=["cli", "vizier"])


# ---- scripts ---------------------------------------------------------------------------------


def _script(args: argparse.Namespace, out: TextIO) -> int:
    if args.script_command == "list":
        names = list_scripts()
        if args.output == "json":
            for name in names:
                out.write(json.dumps({"name": name, "description": load_script(name).short}) + "\n")
            return 0
        width = max((len(n) for n in names), default=0)
        for name in names:
            out.write(f"{name.ljust(width)}  {load_script(name).short}\n")
        return 0
    try:
        script = load_script(args.name)
    except ScriptNotFoundError:
        raise CliUsageError(
            f"no bundled script {args.name!r}; `px script list` shows them"
        ) from None
    if args.vis:
        if script.vis is None:
            raise OpsError(f"{script.name} has no vis spec (it is not a live view)")
        out.write(json.dumps(script.vis, indent=2) + "\n")
    else:
        out.write(script.pxl if script.pxl.endswith("\n") else script.pxl + "\n")
    return 0


# ---- local stack -----------------------------------------------------------------------------


def _devstack_command(*argv: str) -> list[str]:
    if importlib.util.find_spec("pyxie_devstack") is None:
        raise OpsError(
            "the local stack (devstack) is not installed: install pyxie-cli[devstack] "
            "(a workspace checkout has it after `uv sync --all-packages`)"
        )
    return [sys.executable, "-m", "pyxie_devstack", *argv]


def _default_runner(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=_STATUS_TIMEOUT_S, check=False
    )


def _statuses(runner: Runner) -> dict[str, str]:
    """`vizier status` and `cloud status` of the devstack, as text (whatever they say)."""
    result = {}
    for name, argv in (("vizier", ("vizier", "status")), ("cloud", ("cloud", "status"))):
        done = runner(_devstack_command(*argv))
        result[name] = (done.stdout + done.stderr).strip() or f"(exit {done.returncode})"
    return result


def _log_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.log") if p.is_file())


def _tail(path: Path, lines: int) -> list[str]:
    with path.open("rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        # Read back at most 1 MiB: enough for any sane number of lines, bounded for huge logs.
        handle.seek(max(0, size - (1 << 20)))
        text = handle.read().decode("utf-8", "replace")
    return text.splitlines()[-lines:] if lines > 0 else []


def _debug(args: argparse.Namespace, out: TextIO, runner: Runner) -> int:
    root = state_dir()
    if args.debug_command == "pods":
        for name, text in _statuses(runner).items():
            out.write(f"== {name}\n{text}\n")
        return 0
    files = [p for p in _log_files(root) if args.service in p.name]
    if not files:
        where = f"matching {args.service!r} " if args.service else ""
        raise OpsError(
            f"no service logs {where}under {root}; start the stack with `px demo deploy` "
            "(or set PL_STATE_DIR to the stack's state directory)"
        )
    for path in files:
        out.write(f"== {path.relative_to(root)}\n")
        for line in _tail(path, args.lines):
            out.write(line + "\n")
    return 0


def _collect_logs(args: argparse.Namespace, out: TextIO, runner: Runner) -> int:
    root = state_dir()
    target = Path(args.output or f"pyxie_logs_{time.strftime('%Y%m%d_%H%M%S')}.tar.gz")
    files = _log_files(root)
    try:
        statuses = _statuses(runner)
    except OpsError as exc:
        statuses = {"status": str(exc)}
    with tarfile.open(target, "w:gz") as archive:
        for path in files:
            archive.add(path, arcname=f"logs/{path.relative_to(root)}")
        for name, text in statuses.items():
            data = (text + "\n").encode()
            info = tarfile.TarInfo(f"status/{name}.txt")
            info.size = len(data)
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
        summary = json.dumps(
            {"px": _version(), "state_dir": str(root), "logs": len(files)}, indent=2
        ).encode()
        info = tarfile.TarInfo("summary.json")
        info.size = len(summary)
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(summary))
    out.write(f"Wrote {target} ({len(files)} log file(s), status of {', '.join(statuses)})\n")
    return 0


def _demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.demo_command == "deploy":
        argv = _devstack_command("demo", "--wait", f"{args.wait:g}")
        follow = "then: px run px/http_data, px live px/http_data; stop it with `px demo delete`"
    else:
        argv = _devstack_command("vizier", "down")
        follow = ""
    # The demo prints its own progress: let it through to the terminal.
    code = subprocess.run(argv, check=False).returncode
    if code == 0 and follow:
        out.write(follow + "\n")
    elif code != 0:
        err.write(f"px: the demo command failed (exit {code}); `px debug logs` shows why\n")
    return code


def _config(out: TextIO) -> int:
    from pyxie_cli.cloud import CredentialsError, auth_file
    from pyxie_cli.cloud._credentials import load

    root = state_dir()
    rows: list[tuple[str, str]] = [("px", _version()), ("state dir ($PL_STATE_DIR)", str(root))]
    path = auth_file()
    try:
        credentials = load(None)
        kind = "API key" if credentials.api_key else "user token"
        rows += [("credentials", f"{path} ({kind})"), ("cloud", credentials.cloud_addr)]
    except CredentialsError:
        rows.append(("credentials", f"none ({path}); log in with `px auth login`"))
    try:
        rows.append(("local cloud api", read_cloud_endpoints(root).api))
    except LocalStackError:
        rows.append(("local cloud api", "not running"))
    try:
        rows.append(("local vizier broker", read_vizier_endpoints(root).broker))
    except LocalStackError:
        rows.append(("local vizier broker", "not running (`px demo deploy` starts one)"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.write(f"{key.ljust(width)}  {value}\n")
    return 0


# ---- completion ------------------------------------------------------------------------------


def _words(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Command path ("" for the top, "get" for `px get`) → the words that may follow it."""
    tree: dict[str, list[str]] = {}

    def walk(node: argparse.ArgumentParser, path: str) -> None:
        words = [o for action in node._actions for o in action.option_strings if o.startswith("--")]
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    words.append(name)
                    walk(child, f"{path} {name}".strip())
            elif action.choices and not action.option_strings:
                words.extend(str(c) for c in action.choices)
        tree[path] = sorted(set(words))

    walk(parser, "")
    return tree


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """A bash (or zsh, through bashcompinit) completion function for px's commands."""
    cases = "\n".join(
        f'        "{path}") words="{" ".join(words)}" ;;' for path, words in _words(parser).items()
    )
    script = f"""# px shell completion ({shell}); generated by `px completion {shell}`
_px_complete() {{
    local cur path word words i
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    path=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        case "$word" in -*) continue ;; esac
        path="${{path:+$path }}$word"
    done
    case "$path" in
{cases}
        *) words="" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -F _px_complete px
"""
    if shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


# ---- dispatch --------------------------------------------------------------------------------


def run(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    out: TextIO,
    err: TextIO,
    runner: Runner = _default_runner,
) -> int:
    try:
        if args.command == "version":
            out.write(f"px {_version()} (Python {platform.python_version()})\n")
            return 0
        if args.command == "script":
            return _script(args, out)
        if args.command == "config":
            return _config(out)
        if args.command == "demo":
            return _demo(args, out, err)
        if args.command == "debug":
            return _debug(args, out, runner)
        if args.command == "collect-logs":
            return _collect_logs(args, out, runner)
        if args.command == "completion":
            out.write(completion_script(parser, args.shell))
            return 0
        if args.command == "update":
            raise OpsError(
                f"`px update {args.what}` arrives with signed updates (issue 12). Until then: "
                + (
                    "upgrade the CLI with your installer (e.g. `uv tool upgrade pyxie-cli`)"
                    if args.what == "cli"
                    else "redeploy the vizier at the new version with `px deploy`"
                )
            )
    except OpsError as exc:
        err.write(f"px: {exc}\n")
        return 1
    raise ValueError(f"not an ops command: {args.command}")

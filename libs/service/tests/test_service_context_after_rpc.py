"""No code reads a grpc.aio servicer context in a `finally` block (issue 20, item 1).

After an RPC ended (the client hung up, the status went out) grpc.aio may have released the
core call, and `context.peer()` then read freed memory: the query broker died of SIGSEGV in the
access log's `finally`. The rule: read what you need from the context at the start. This scans
every module of the services and libraries for a call on a name `context` inside a `finally`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[3]
# Calls that reach into the core call (code() / details() read Python attributes: fine).
_UNSAFE = frozenset(
    {
        "peer",
        "peer_identities",
        "peer_identity_key",
        "auth_context",
        "invocation_metadata",
        "time_remaining",
        "send_initial_metadata",
        "write",
        "read",
        "abort",
        "set_trailing_metadata",
        "trailing_metadata",
    }
)


def _sources() -> list[Path]:
    files: list[Path] = []
    for top in ("libs", "services"):
        for path in (_ROOT / top).rglob("*.py"):
            parts = set(path.relative_to(_ROOT).parts)
            if "tests" in parts or ".venv" in parts or path.name.endswith("_pb2.py"):
                continue
            files.append(path)
    return files


def _violations(path: Path, root: Path = _ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try) or not node.finalbody:
            continue
        for statement in node.finalbody:
            for inner in ast.walk(statement):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and isinstance(inner.func.value, ast.Name)
                    and inner.func.value.id in {"context", "ctx"}
                    and inner.func.attr in _UNSAFE
                ):
                    found.append(
                        f"{path.relative_to(root)}:{inner.lineno} context.{inner.func.attr}()"
                    )
    return found


def test_no_servicer_context_is_read_in_a_finally_block() -> None:
    sources = _sources()
    if len(sources) < 50:
        pytest.skip("the repository's sources are not here (a sandboxed build)")
    violations = [v for path in sources for v in _violations(path)]
    assert violations == [], "\n".join(violations)


def test_the_scan_finds_the_pattern_that_crashed_the_broker(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "async def handler(request, context):\n"
        "    try:\n"
        "        return await work(request)\n"
        "    finally:\n"
        "        log(peer=context.peer())\n"
    )
    assert _violations(sample, tmp_path) == ["sample.py:5 context.peer()"]

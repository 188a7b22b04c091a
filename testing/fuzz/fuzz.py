"""Coverage-guided fuzzing (atheris / libFuzzer) of everything that parses untrusted input.

Targets: the PxL compiler, every Stirling protocol parser, JWT verification, JWE decryption,
bridge messages (register / heartbeat / Any payloads as vzconn and the connector decode them)
and the vis-spec parser. Each target runs in a process of its own for a number of executions;
only the target's domain errors count as handled, anything else is a crash: its input is saved
under ``testing/fuzz/crashes/<target>/`` and counted, and fuzzing goes on.

    testing/fuzz/run --quick          # CI: >= 100k executions in total
    testing/fuzz/run --runs 2000000   # nightly: per target
    testing/fuzz/run --target jwt     # one target

Last line: ``fuzz execs=<n> crashes=<m>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent

# Executions per target with --quick (the compiler is slower per input than the parsers).
_QUICK_RUNS = {
    "pxl": 30_000,
    "vis": 20_000,
    "http": 20_000,
    "pgsql": 20_000,
    "mysql": 20_000,
    "redis": 20_000,
    "dns": 20_000,
    "cql": 10_000,
    "mongodb": 20_000,
    "kafka": 10_000,
    "jwt": 20_000,
    "jwe": 10_000,
    "bridge": 20_000,
}

_PXL_SEEDS = [
    b"import px\ndf = px.DataFrame('http_events', start_time='-5m')\npx.display(df)\n",
    b"import px\ndf = px.DataFrame('process_stats')\n"
    b"df = df.groupby('upid').agg(n=('rss_bytes', px.count))\npx.display(df, 'x')\n",
    b"import px\ns = 'ab'\ns = s + s\ndf = px.DataFrame('http_events')\ndf.s = s\n"
    b"df = df[df.resp_status >= 400]\npx.display(df.head(10))\n",
    b"import px\ndef f(start_time: str):\n"
    b"    return px.DataFrame('conn_stats', start_time=start_time)\n",
]


def _target(name: str) -> tuple[Callable[[bytes], None], tuple[type[BaseException], ...]]:
    """The function to fuzz and the exceptions that mean "rejected cleanly"."""
    if name == "pxl":
        from pyxie_carnot.builtins import new_registry
        from pyxie_pxl.compiler import CompileOptions, Compiler
        from pyxie_pxl.errors import CompilerError
        from pyxie_types.tables import ALL_TABLES

        compiler = Compiler(new_registry(), {t.name: t for t in ALL_TABLES})
        options = CompileOptions(now_ns=1_700_000_000_000_000_000)

        def pxl(data: bytes) -> None:
            compiler.compile(data.decode("utf-8", "replace"), options)

        return pxl, (CompilerError,)
    if name == "vis":
        from pyxie_scripts import VisSpecError, exec_funcs_from_vis

        def vis(data: bytes) -> None:
            try:
                spec = json.loads(data.decode("utf-8", "replace"))
            except ValueError:
                return
            if isinstance(spec, dict):
                exec_funcs_from_vis(spec, {"start_time": "-5m"})

        return vis, (VisSpecError,)
    if name in ("http", "pgsql", "mysql", "redis", "dns", "cql", "mongodb", "kafka"):
        from pyxie_stirling.protocols import Direction, Protocol, Role, make_parser

        protocol = Protocol.MONGO if name == "mongodb" else Protocol[name.upper()]

        def parse(data: bytes) -> None:
            # The first byte picks the role; then chunks split on 0xff alternate directions.
            role = (Role.CLIENT, Role.SERVER, Role.UNKNOWN)[data[0] % 3] if data else Role.CLIENT
            parser = make_parser(protocol, role)
            direction = Direction.EGRESS
            for index, chunk in enumerate(data[1:].split(b"\xff")):
                parser.feed(direction, chunk, 1_000 + index, lost_bytes=chunk[:1] == b"\xfe")
                direction = Direction.INGRESS if direction is Direction.EGRESS else Direction.EGRESS
                parser.records()
            parser.flush(10**18)
            parser.close()
            for record in parser.records():
                record.to_row()
            if parser.internal_errors:
                raise AssertionError(f"{name} parser hit {parser.internal_errors} internal errors")

        return parse, ()
    if name == "jwt":
        from pyxie_jwt import InvalidTokenError, SigningKey, verify_token

        key = SigningKey("fuzz-signing-key-" + "0123456789abcdef" * 3)

        def jwt(data: bytes) -> None:
            verify_token(data.decode("utf-8", "replace"), key, audience="vizier")

        return jwt, (InvalidTokenError,)
    if name == "jwe":
        from pyxie_crypto import CryptoError, decrypt_compact, generate_rsa_private_key

        private = generate_rsa_private_key(2048)

        def jwe(data: bytes) -> None:
            decrypt_compact(data, private, max_payload_bytes=1 << 20)

        return jwe, (CryptoError,)
    if name == "bridge":
        from google.protobuf.message import DecodeError
        from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
        from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb

        payloads = (
            cvmsgs.RegisterVizierRequest,
            cvmsgs.RegisterVizierAck,
            cvmsgs.VizierHeartbeat,
            cvmsgs.C2VAPIStreamRequest,
            cvmsgs.V2CAPIStreamResponse,
        )

        def bridge(data: bytes) -> None:
            for outer in (pb.V2CBridgeMessage, pb.C2VBridgeMessage):
                message = outer.FromString(data)
                for kind in payloads:
                    inner = kind()
                    if message.msg.Is(kind.DESCRIPTOR):  # type: ignore[arg-type]
                        message.msg.Unpack(inner)
                        inner.SerializeToString()
            for envelope in (cvmsgs.V2CMessage, cvmsgs.C2VMessage):
                envelope.FromString(data)

        return bridge, (DecodeError,)
    raise SystemExit(f"unknown target {name!r}; targets: {', '.join(_QUICK_RUNS)}")


def _seeds(name: str) -> list[bytes]:
    if name == "pxl":
        return _PXL_SEEDS
    if name == "vis":
        return [
            b'{"variables": [{"name": "start_time", "defaultValue": "-5m"}], "widgets": '
            b'[{"name": "w", "func": {"name": "f", "args": [{"name": "start_time", '
            b'"variable": "start_time"}]}}], "globalFuncs": []}'
        ]
    if name == "http":
        return [
            b"\x00GET / HTTP/1.1\r\nHost: a\r\n\r\n"
            b"\xffHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        ]
    if name == "redis":
        return [b"\x00*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\xff$1\r\nv\r\n"]
    if name == "cql":  # QUERY "SELECT 1" -> RESULT ROWS (one int column "a", one row)
        return [
            b"\x00\x04\x00\x00\x01\x07\x00\x00\x00\x0f\x00\x00\x00\x08SELECT 1\x00\x01\x00"
            b"\xff\x84\x00\x00\x01\x08\x00\x00\x00\x1b\x00\x00\x00\x02\x00\x00\x00\x01"
            b"\x00\x00\x00\x01\x00\x01k\x00\x01t\x00\x01a\x00\x09\x00\x00\x00\x00"
        ]
    if name == "mongodb":  # role byte, OP_MSG {ping: 1}, 0xff, its {ok: 1} reply
        return [
            bytes.fromhex(
                "00240000000100000000000000dd07000000000000000f0000001070696e67000100000000"
                "ff220000000200000001000000dd07000000000000000d000000106f6b000100000000"
            )
        ]
    if name == "kafka":
        # The captured kafka-python producer session (requests and responses alternate).
        capture = _HERE.parents[1] / "libs/stirling/tests/data/kafka_producer.txt"
        chunks = [
            bytes.fromhex(line.split()[1])
            for line in capture.read_text().splitlines()
            if not line.startswith("#")
        ]
        return [b"\x00" + b"\xff".join(chunks)]
    if name == "jwt":
        return [b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ.c2ln"]
    return [b"\x00"]


def _child(name: str, runs: int, report: Path) -> None:
    """One target under atheris: ``runs`` executions, then the counts to ``report``."""
    import atheris

    with atheris.instrument_imports(
        include=[
            "pyxie_pxl",
            "pyxie_scripts",
            "pyxie_stirling",
            "pyxie_jwt",
            "pyxie_crypto",
            "pyxie_proto",
            "pyxie_carnot",
        ]
    ):
        fn, handled = _target(name)
    crashes_dir = _HERE / "crashes" / name
    counts = {"execs": 0, "crashes": 0, "handled": 0}
    kinds: dict[str, int] = {}
    started = time.monotonic()

    def one(data: bytes) -> None:
        counts["execs"] += 1
        try:
            fn(data)
        except handled:
            counts["handled"] += 1
        except RecursionError:
            counts["handled"] += 1  # deep nesting in an input is refused by Python itself
        except Exception as exc:  # a crash: save the input, keep fuzzing
            kind = f"{type(exc).__name__}: {str(exc)[:80]}"
            if kind not in kinds:
                crashes_dir.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha1(data).hexdigest()[:16]
                (crashes_dir / f"crash-{digest}").write_bytes(data)
                (crashes_dir / f"crash-{digest}.txt").write_text(traceback.format_exc())
            counts["crashes"] += 1
            kinds[kind] = kinds.get(kind, 0) + 1
        if counts["execs"] >= runs:
            seconds = round(time.monotonic() - started, 1)
            report.write_text(json.dumps({**counts, "kinds": kinds, "seconds": seconds}))
            os._exit(0)

    corpus = _HERE / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in _seeds(name):
        (corpus / f"seed-{hashlib.sha1(seed).hexdigest()[:12]}").write_bytes(seed)
    atheris.Setup(
        [sys.argv[0], str(corpus), "-max_len=4096", f"-runs={runs * 2}", "-print_final_stats=0"],
        one,
    )
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: >= 100k executions in total")
    parser.add_argument("--runs", type=int, default=0, help="executions per target")
    parser.add_argument("--target", action="append", default=[], help="only these targets")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return 0
    targets = args.target or list(_QUICK_RUNS)
    total_execs = total_crashes = 0
    started = time.monotonic()
    for name in targets:
        runs = args.runs or _QUICK_RUNS.get(name, 20_000)
        report = _HERE / "corpus" / f".{name}.report.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, str(runs), str(report)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if not report.exists():
            # The process died under us (a native crash, out of memory): count it as one.
            print(f"{name:<7} died (status {proc.returncode}): {proc.stderr[-400:]}")
            total_crashes += 1
            continue
        counts: dict[str, Any] = json.loads(report.read_text())
        total_execs += counts["execs"]
        total_crashes += counts["crashes"]
        print(
            f"{name:<7} execs={counts['execs']} handled={counts['handled']} "
            f"crashes={counts['crashes']} ({counts['seconds']}s)"
        )
        for kind, number in sorted(counts["kinds"].items()):
            print(f"        {number} x {kind}")
    print(f"fuzz time {time.monotonic() - started:.0f}s")
    print(f"fuzz execs={total_execs} crashes={total_crashes}")
    return 1 if total_crashes else 0


if __name__ == "__main__":
    sys.exit(main())

"""``px``'s cloud commands (``auth login``, ``api-key``, ``deploy-key``, ``get viziers``,
``deploy --local``). ``register(subparsers)`` adds them to a parser; ``run(args, out, err)``
executes one. Also runnable on their own: ``python -m pyxie_cli.cloud …``.
"""

from pyxie_cli.cloud._commands import COMMANDS, CloudCommandError, register, run
from pyxie_cli.cloud._credentials import CloudCredentials, CredentialsError, auth_file

__all__ = [
    "COMMANDS",
    "CloudCommandError",
    "CloudCredentials",
    "CredentialsError",
    "auth_file",
    "main",
    "register",
    "run",
]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="px")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args, sys.stdout, sys.stderr)

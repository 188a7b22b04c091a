#!/usr/bin/env bash
# Install what `make mypyc` (tools/mypyc_build.py) needs on a Debian host, idempotently: a C
# compiler with the C library headers, and the Python headers (python3-dev matches Debian's
# python3; pyenv and uv-managed Pythons ship their own). Only missing packages are installed.
set -euo pipefail

say() { printf 'setup-mypyc: %s\n' "$*"; }

missing=()
for pkg in gcc libc6-dev python3-dev; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ "$(id -u)" -ne 0 ]]; then
        say "error: missing ${missing[*]}; run as root (sudo bash $0)" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    say "gcc, libc6-dev and python3-dev already installed"
fi

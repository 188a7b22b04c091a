#!/usr/bin/env bash
# Install what Pyxie's eBPF collectors need on a Debian host, idempotently:
#   - bcc (python3-bpfcc, bpfcc-tools), bpftrace (pxtrace programs) and Debian's kernel headers (linux-headers-amd64),
#   - redis-server, rabbitmq-server and mariadb-server (the socket tracer's tests and the demo shop
#     start their own instances; the Debian units are stopped and disabled right after the install
#     so nothing listens on 6379/5672/3306), and dnsmasq-base (the demo shop's private resolver:
#     the binary only, no system service),
#   - /lib/modules/$(uname -r)/{build,source} pointing at those headers when the running kernel
#     ships none (bcc compiles against them; see the note on struct layouts in pyxie_stirling),
#   - tracefs and debugfs mounted (tracepoint formats are read from there),
#   - `bcc` importable from the project venv through a .pth file that adds ONE directory holding a
#     symlink to Debian's bcc package, so the rest of Debian's dist-packages stays out of the venv.
# Only missing pieces are installed or created; running it twice changes nothing.
set -euo pipefail

say() { printf 'setup-bpf: %s\n' "$*"; }
die() { printf 'setup-bpf: error: %s\n' "$*" >&2; exit 1; }

if [[ "$(id -u)" -ne 0 ]]; then
    die "must run as root (it installs packages, links kernel headers and mounts tracefs); try: sudo make setup-bpf"
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PYXIE_VENV:-$repo_root/.venv}"
kernel="$(uname -r)"

# 1. Debian packages: install only the missing ones.
missing=()
for pkg in python3-bpfcc bpfcc-tools bpftrace linux-headers-amd64 redis-server rabbitmq-server mariadb-server dnsmasq-base nftables; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null; then
        systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
    if [[ " ${missing[*]} " == *" rabbitmq-server "* ]]; then
        if command -v systemctl >/dev/null; then
            systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
        fi
        # Without systemd the init script may have started it: stop it (and its epmd).
        service rabbitmq-server stop >/dev/null 2>&1 || true
    fi
    if [[ " ${missing[*]} " == *" mariadb-server "* ]]; then
        if command -v systemctl >/dev/null; then
            systemctl disable --now mariadb >/dev/null 2>&1 || true
        fi
        service mariadb stop >/dev/null 2>&1 || true
    fi
else
    say "packages already installed"
fi

# 2. Kernel headers for the running kernel. Prefer real ones; otherwise link Debian's newest.
modules="/lib/modules/$kernel"
if [[ -e "$modules/build/include" ]]; then
    say "kernel headers present at $modules/build"
else
    headers="$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$headers" ]] || die "no /usr/src/linux-headers-*-amd64 found after installing linux-headers-amd64"
    mkdir -p "$modules"
    ln -sfn "$headers" "$modules/build"
    say "linked $modules/build -> $headers"
fi
if [[ ! -e "$modules/source" ]]; then
    # Debian splits headers into an arch part (…-amd64) and a common part (…-common); bcc looks
    # for the common part under source/.
    common="$(readlink -f "$modules/build")"
    common="${common%-amd64}-common"
    [[ -d "$common" ]] || common="$(readlink -f "$modules/build")"
    ln -sfn "$common" "$modules/source"
    say "linked $modules/source -> $common"
fi

# 3. tracefs / debugfs: bcc reads tracepoint formats from them.
if [[ ! -e /sys/kernel/tracing/events ]]; then
    mount -t tracefs nodev /sys/kernel/tracing && say "mounted tracefs"
fi
if [[ ! -e /sys/kernel/debug/tracing ]]; then
    mount -t debugfs nodev /sys/kernel/debug && say "mounted debugfs"
fi

# 4. bcc in the venv, and nothing else from Debian's dist-packages.
bcc_pkg=/usr/lib/python3/dist-packages/bcc
[[ -d "$bcc_pkg" ]] || die "$bcc_pkg missing although python3-bpfcc is installed"
if [[ -x "$venv/bin/python" ]]; then
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    shim="$venv/pyxie-bcc"
    mkdir -p "$shim"
    ln -sfn "$bcc_pkg" "$shim/bcc"
    pth="$site/pyxie_bcc.pth"
    if [[ "$(cat "$pth" 2>/dev/null || true)" != "$shim" ]]; then
        printf '%s\n' "$shim" >"$pth"
        say "wrote $pth"
    fi
    "$venv/bin/python" -c 'import bcc, sys; print("setup-bpf: bcc", getattr(bcc, "__version__", "?"), "importable from", sys.executable)' \
        || die "bcc is not importable from $venv"
else
    say "no venv at $venv yet (run 'make setup' first, then this again to link bcc into it)"
fi

# 5. Prove it: compile and load a tracepoint program (with the venv's Python when there is one).
probe_python=/usr/bin/python3
[[ -x "$venv/bin/python" ]] && probe_python="$venv/bin/python"
"$probe_python" - <<'EOF' || die "bcc could not load a tracepoint program"
from bcc import BPF
b = BPF(text='TRACEPOINT_PROBE(syscalls, sys_enter_getpid) { return 0; }')
b.cleanup()
print("setup-bpf: bcc loaded a tracepoint program")
EOF
say "done"

#!/usr/bin/env bash
# Install what `make bazel-test` needs (Debian bookworm): Debian's Bazel 4.2.3 and the Bazel rule
# repositories Debian ships as directories (WORKSPACE maps rules_cc, rules_java and platforms to
# them), so `bazel test //...` never downloads. Python packages come from uv's cache (make setup).
set -euo pipefail

packages=(bazel-bootstrap bazel-bootstrap-source bazel-platforms)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup_bazel: need root to install ${missing[*]} (sudo bash $0)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for directory in /usr/src/bazel-bootstrap/mock_repos/rules_cc \
    /usr/src/bazel-bootstrap/mock_repos/rules_java /usr/share/bazel/tools/platforms; do
    if [ ! -d "$directory" ]; then
        echo "setup_bazel: $directory is missing; WORKSPACE expects Debian's layout" >&2
        exit 1
    fi
done
command -v bazel >/dev/null
echo "setup_bazel: bazel-bootstrap $(dpkg-query -W -f='${Version}' bazel-bootstrap) ready"

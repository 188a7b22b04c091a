#!/usr/bin/env bash
# What the container/Kubernetes path needs on a Debian host (CI runs it from a clean clone):
#   - podman + runc (run images), catatonit (the init of the pause image `podman kube play`
#     builds for every pod; a Recommends of podman, so --no-install-recommends leaves it out),
#     mmdebstrap (the base image from Debian packages), skopeo (copy images to a registry),
#     uidmap, docker-registry (a local registry for signed releases);
#   - kubectl (Debian's kubernetes-client; `kubectl kustomize` and `px deploy`), unless one is
#     already installed (e.g. from the Google Cloud SDK, whose package owns /usr/bin/kubectl);
#   - the Helm tool venv (.tools/helm-venv, deploy/helm/setup.sh);
#   - the eBPF prerequisites of the PEM image's host (tools/setup_bpf.sh: kernel headers, bcc).
# Idempotent: only what is missing is installed.
set -euo pipefail
say() { printf 'setup-deploy: %s\n' "$*"; }
[[ "$(id -u)" -eq 0 ]] || { echo "setup-deploy: must run as root" >&2; exit 1; }
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
for pkg in podman runc catatonit mmdebstrap skopeo uidmap docker-registry; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The package's own service (0.0.0.0:5000) is not used: pyxie_release starts its registries on
# 127.0.0.1 with their own storage. Stop it where systemd started it on install.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled docker-registry >/dev/null 2>&1; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
bash "$repo_root/deploy/helm/setup.sh"
bash "$repo_root/tools/setup_bpf.sh"
say "ok: podman $(podman --version | awk '{print $3}'), $(kubectl version --client 2>/dev/null | head -1)"

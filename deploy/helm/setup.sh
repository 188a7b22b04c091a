#!/usr/bin/env bash
# The Helm tool venv .tools/helm-venv (kept out of the uv lock, like the pxapi venv):
#   helm-python-sdk       Helm's Go library: values-schema check + offline template rendering
#   kubernetes-validate   Kubernetes' published OpenAPI schemas, offline validation
#   pyyaml
# Both Helm wheels need Python >= 3.12 (Debian bookworm has 3.11): PYXIE_HELM_BASE_PYTHON, else
# python3.12 on PATH, else pyenv's newest 3.12, else `uv python install 3.12`.
# Idempotent: a complete venv (marker file) is left alone.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$repo_root/.tools/helm-venv"
marker="$venv/.complete-v1"
[[ -f "$marker" ]] && exit 0

base="${PYXIE_HELM_BASE_PYTHON:-}"
# (a pyenv shim exists even when no 3.12 is selected: ask the interpreter itself)
if [[ -z "$base" ]] && python3.12 -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
    base="$(python3.12 -c 'import sys; print(sys.executable)')"
fi
if [[ -z "$base" ]] && command -v pyenv >/dev/null 2>&1; then
    v="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$)' | sort -V | tail -1 || true)"
    [[ -n "$v" ]] && base="$(pyenv root)/versions/$v/bin/python"
fi
if [[ -z "$base" ]]; then
    uv python install 3.12
    base="$(uv python find 3.12)"
fi
echo "helm venv: $venv (from $base)"
rm -rf "$venv"
"$base" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    'helm-python-sdk==0.2.2' 'kubernetes-validate==1.37.0' 'pyyaml>=6'
touch "$marker"

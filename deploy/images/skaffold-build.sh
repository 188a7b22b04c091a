#!/usr/bin/env bash
# skaffold's custom builder: build one Pyxie image with deploy/images/build.py (the same build
# as `make images`), tag it as skaffold asks ($IMAGE), then push it ($PUSH_IMAGE=true) or load it
# into the kind cluster skaffold deploys to.
#   deploy/images/skaffold-build.sh <name>      e.g. api, query-broker, pem
set -euo pipefail
name="$1"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTAINERS_CONF="$repo_root/deploy/images/containers.conf"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo_root/pyproject.toml" | head -1)"
uv run --all-packages python "$repo_root/deploy/images/build.py" --only "$name" >&2
podman tag "localhost/pyxie-$name:$version" "$IMAGE"
if [[ "${PUSH_IMAGE:-false}" == "true" ]]; then
    podman push "$IMAGE"
elif command -v kind >/dev/null 2>&1; then
    archive="$(mktemp --suffix=.tar)"
    podman save -o "$archive" "$IMAGE"
    kind load image-archive "$archive" --name "${KIND_CLUSTER:-kind}"
    rm -f "$archive"
fi

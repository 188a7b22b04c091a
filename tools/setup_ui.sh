#!/usr/bin/env bash
# What the web UI's build and browser tests need on a fresh Debian machine: Node.js 20+ with npm
# (for `make ui`) and Debian's Chromium (Playwright drives it; no browser is downloaded).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  need+=(nodejs npm)
fi
if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "setup_ui: Node.js $node_major found; the UI build needs Node.js 20 or newer" >&2
  exit 1
fi
chromium --version

#!/usr/bin/env bash
# Install everything vnettool needs on a fresh Debian machine: Go + govmomi sources (to build
# the lab simulator), Graphviz (`vnettool topology`) and the Python environment (uv, locked dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v go >/dev/null || ! command -v dot >/dev/null \
  || [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq golang-go golang-github-vmware-govmomi-dev graphviz >/dev/null
fi
if ! command -v uv >/dev/null; then
  python3 -m pip install -q uv || python3 -m pip install -q --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --frozen -q

#!/usr/bin/env bash
# Build govmomi's own command-line client (govc) for the lab's esxcli conformance test
# (tests/lab/test_govc_esxcli.py), as "a client we did not write".
#
# The machine's GOPATH holds govmomi v0.24.0 without govc, so this script overlays govc from
# that same tag onto a private copy of the GOPATH (plus kr/pretty v0.1.0 and kr/text, govc's
# only outside dependencies) and builds it in GOPATH mode. It needs git checkouts of
# vmware/govmomi, kr/pretty and kr/text (GOVMOMI_GIT, KR_PRETTY_GIT, KR_TEXT_GIT); without
# them it says so and exits 0, and the test skips. The binary is cached by govmomi tag:
# a second run costs nothing.
#
#   scripts/build-govc.sh            -> prints the binary's path (default ~/.cache/vnettool/govc-v0.24.0)
#   VNETTOOL_GOVC=$(scripts/build-govc.sh) uv run pytest tests/lab/test_govc_esxcli.py
set -euo pipefail
TAG=v0.24.0
OUT="${GOVC_OUT:-${XDG_CACHE_HOME:-$HOME/.cache}/vnettool/govc-$TAG}"
GOVMOMI_GIT="${GOVMOMI_GIT:-/work/.mirror/vmware+govmomi/repo}"
KR_PRETTY_GIT="${KR_PRETTY_GIT:-/work/.mirror/kr+pretty/repo}"
KR_TEXT_GIT="${KR_TEXT_GIT:-/work/.mirror/kr+text/repo}"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
for d in "$GOVMOMI_GIT" "$KR_PRETTY_GIT" "$KR_TEXT_GIT"; do
  if ! git -C "$d" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    echo "build-govc: no git checkout at $d; govc not built (the govc test will skip)" >&2
    exit 0
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/src/github.com
mkdir -p "$src/vmware" "$src/kr/pretty" "$src/kr/text"
cp -r /usr/share/gocode/src/github.com/vmware/govmomi "$src/vmware/govmomi"
cp -r /usr/share/gocode/src/github.com/google "$src/google"
git -C "$GOVMOMI_GIT" archive "$TAG" govc | tar -x -C "$src/vmware/govmomi"
git -C "$KR_PRETTY_GIT" archive v0.1.0 | tar -x -C "$src/kr/pretty"
git -C "$KR_TEXT_GIT" archive HEAD | tar -x -C "$src/kr/text"
mkdir -p "$(dirname "$OUT")"
(cd "$work" && GOPATH="$work" GO111MODULE=off GOFLAGS= go build -o "$OUT.tmp" github.com/vmware/govmomi/govc)
mv "$OUT.tmp" "$OUT"
echo "$OUT"

#!/usr/bin/env bash
# Builds the npm package `websock` in node/: the wasm engine (wasm/build.sh,
# with permessage-deflate and SIMD) copied into node/engine/, beside the
# Node adapter in node/lib/, and the root's license files copied in. Then `npm pack` in node/ makes the tarball.
#
#   node/build.sh            build node/engine/
#   node/build.sh --pack DIR also pack into DIR, and print the tarball's path
#
# The package's version is the workspace's: this fails when package.json
# says otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pack_dir=""
case "${1:-}" in
    "") ;;
    --pack) pack_dir="${2:?--pack needs a directory}" ;;
    *) echo "usage: node/build.sh [--pack DIR]" >&2; exit 2 ;;
esac

workspace_version="$(cargo metadata --format-version 1 --no-deps | node -e '
let s = "";
process.stdin.on("data", (d) => (s += d)).on("end", () => {
  console.log(JSON.parse(s).packages.find((p) => p.name === "websock-wasm").version);
});')"
package_version="$(node -p 'require("./node/package.json").version')"
if [ "$workspace_version" != "$package_version" ]; then
    echo "node/build.sh: node/package.json has version $package_version, the workspace $workspace_version: update it" >&2
    exit 1
fi

bash wasm/build.sh >&2
rm -rf node/engine
mkdir -p node/engine
for f in websock.js websock.d.ts websock_bg.wasm websock_bg.wasm.d.ts; do
    cp "wasm/pkg/$f" node/engine/
done
# The license texts live at the root; the package carries copies.
cp LICENSE-MIT LICENSE-APACHE node/

if [ -n "$pack_dir" ]; then
    mkdir -p "$pack_dir"
    (cd node && npm pack --silent --pack-destination "$pack_dir") | tail -1 | sed "s|^|$pack_dir/|"
fi

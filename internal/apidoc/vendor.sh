#!/usr/bin/env bash
# Fetches the Redoc standalone bundle that /docs serves from the binary.
# Usage: internal/apidoc/vendor.sh [VERSION]   (default: the version in assets/README.md)
set -euo pipefail
version="${1:-2.5.4}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "redoc@$version" >/dev/null && tar xzf "redoc-$version.tgz")
# Two patches, each of which must match exactly once:
# - the sidebar's Redocly logo comes from a CDN, which the page's CSP
#   refuses (and an offline page cannot reach), so browsers showed a
#   broken image: the image is removed, keeping the "API docs by Redocly"
#   link;
# - Redoc 2 renders every method but TRACE, which the Envoy endpoint has.
bundle="$tmp/package/bundles/redoc.standalone.js"
patch() {
  local n
  n=$(grep -o -F "$1" "$bundle" | wc -l)
  if [ "$n" != 1 ]; then echo "vendor.sh: found '$1' $n times in the bundle, want 1" >&2; exit 1; fi
  sed -i "s|$(printf '%s' "$1" | sed 's/[.[\*^$|]/\\&/g')|$2|" "$bundle"
}
patch 'e?n.createElement("img",{alt:"redocly logo",onError:()=>t(!1),src:"https://cdn.redoc.ly/redoc/logo-mini.svg"}):null' 'null'
patch 'options:!0,$ref:!0}' 'options:!0,trace:!0,$ref:!0}'
cp "$bundle" "$here/assets/redoc.standalone.js"
cp "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" "$here/assets/redoc.standalone.js.LICENSE.txt"
cp "$tmp/package/LICENSE" "$here/assets/redoc.LICENSE"
grep '"license"' "$tmp/package/package.json"
echo "vendored redoc $version into $here/assets"

#!/bin/sh
# Fetch axe-core, the accessibility engine tests/test_browser_accessibility.py runs in Chromium, from the npm registry
# into a git-ignored folder of the repository, unless it is there.
#
#   sh tests/accessibility/fetch_axe.sh [DEST]      DEST defaults to .cache/axe-core-4.14.1
#
# Only axe.min.js, LICENSE (MPL-2.0) and package.json are kept. DEST/axe.min.js appears last (the folder is moved into
# place whole), so its presence means a complete fetch.
set -eu
VERSION=4.14.1
SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745  # of axe-core-4.14.1.tgz
cd "$(dirname "$0")/../.."
DEST=${1:-.cache/axe-core-$VERSION}
[ -f "$DEST/axe.min.js" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching axe-core $VERSION into $DEST"
npm pack --silent --pack-destination "$tmp" "axe-core@$VERSION" >/dev/null
echo "$SHA256  $tmp/axe-core-$VERSION.tgz" | sha256sum -c --quiet -
mkdir "$tmp/package"
tar -xzf "$tmp/axe-core-$VERSION.tgz" -C "$tmp/package" --strip-components=1 \
  package/axe.min.js package/LICENSE package/package.json
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$tmp/package" "$DEST"

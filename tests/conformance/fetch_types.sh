#!/bin/sh
# Fetch the TypeScript types that stripe-node generates from Stripe's OpenAPI spec, for the conformance test
# (tests/conformance/test_stripe_types.py), into a git-ignored folder of the repository, unless they are there.
#
#   sh tests/conformance/fetch_types.sh [DEST]      DEST defaults to .cache/stripe-node-23.1.0
#
# stripe-node 23.1.0 is pinned to Stripe's API version 2026-10-28.endive, the emulator's. Only the declarations
# (esm/**/*.d.ts) and the package's VERSION, OPENAPI_VERSION, LICENSE and package.json are kept. DEST/VERSION is
# written last (the folder is moved into place whole), so its presence means a complete fetch.
set -eu
VERSION=23.1.0
SHA256=7066de352ba7583d67228a5060b970f25720a9e587a786848d1c5a3b2d5629f1  # of stripe-23.1.0.tgz
cd "$(dirname "$0")/../.."
DEST=${1:-.cache/stripe-node-$VERSION}
[ -f "$DEST/VERSION" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching stripe-node $VERSION's types into $DEST"
npm pack --silent --pack-destination "$tmp" "stripe@$VERSION" >/dev/null
echo "$SHA256  $tmp/stripe-$VERSION.tgz" | sha256sum -c --quiet -
mkdir "$tmp/package"
tar -xzf "$tmp/stripe-$VERSION.tgz" -C "$tmp/package" --strip-components=1 --wildcards \
  'package/esm/*.d.ts' package/VERSION package/OPENAPI_VERSION package/LICENSE package/package.json
[ "$(cat "$tmp/package/VERSION")" = "$VERSION" ]
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$tmp/package" "$DEST"

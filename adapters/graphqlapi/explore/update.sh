#!/usr/bin/env bash
# update.sh re-downloads the vendored GraphiQL assets from npm at the pinned
# versions below. It is for maintainers: the build never runs it, the files
# it writes are committed. To upgrade, change a version here, rename its
# references in index.html, README.md and explore_test.go, and run it again.
#
# Files are copied byte for byte from the npm tarballs (npm verifies their
# integrity), so anyone can check them against the registry. The version is
# part of each file name because the handler serves vendor files as
# immutable: a new version must get a new URL.
set -euo pipefail

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

here=$(cd "$(dirname "$0")" && pwd)
vendor="$here/assets/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pack downloads one package tarball and unpacks it into $work/NAME.
pack() {
	local name=$1 version=$2
	(cd "$work" && npm pack --silent "$name@$version" >/dev/null)
	mkdir -p "$work/$name"
	tar -xzf "$work/$name-$version.tgz" -C "$work/$name" --strip-components=1
}

pack graphiql "$GRAPHIQL_VERSION"
pack react "$REACT_VERSION"
pack react-dom "$REACT_VERSION"

rm -rf "$vendor"
mkdir -p "$vendor"
# graphiql 3.x ships a UMD build that bundles its own dependencies
# (graphql-js, CodeMirror 5, ...) and expects React and ReactDOM as
# globals; 4.x and later ship ES modules only and would need a bundler.
cp "$work/graphiql/graphiql.min.js" "$vendor/graphiql-$GRAPHIQL_VERSION.min.js"
cp "$work/graphiql/graphiql.min.css" "$vendor/graphiql-$GRAPHIQL_VERSION.min.css"
cp "$work/graphiql/LICENSE" "$vendor/graphiql-$GRAPHIQL_VERSION.LICENSE.txt"
cp "$work/react/umd/react.production.min.js" "$vendor/react-$REACT_VERSION.production.min.js"
cp "$work/react/LICENSE" "$vendor/react-$REACT_VERSION.LICENSE.txt"
cp "$work/react-dom/umd/react-dom.production.min.js" "$vendor/react-dom-$REACT_VERSION.production.min.js"
cp "$work/react-dom/LICENSE" "$vendor/react-dom-$REACT_VERSION.LICENSE.txt"

(cd "$vendor" && ls -l && sha256sum -- *)

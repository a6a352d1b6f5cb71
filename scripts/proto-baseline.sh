#!/usr/bin/env bash
# Writes buf.baseline.binpb: the buf image of proto/ as of a git ref (default HEAD), the contract that
# `npm run breaking:proto` (part of `npm test`) holds proto/ to. Run it when a release ships, and commit the file:
#   npm run proto:baseline -- v1.2.0
# A committed image rather than `.git#branch=main`: CI's clone *is* main (it would compare main with itself), a
# shallow clone has no history to compare with, and there is no release tag yet. The image works in any clone
# or worktree, offline, and every change of the contract is a reviewed diff of this file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ref="${1:-HEAD}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git archive "$ref" proto buf.yaml | tar -x -C "$tmp"
buf="$PWD/node_modules/.bin/buf"
(cd "$tmp" && "$buf" build -o image.binpb)
cp "$tmp/image.binpb" buf.baseline.binpb
echo "buf.baseline.binpb: proto/ as of $ref ($(git rev-parse --short "$ref"))"

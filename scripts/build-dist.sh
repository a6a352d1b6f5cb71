#!/usr/bin/env bash
# The production build (`npm run build` runs it after `npm run generate`): compiles what the image runs into dist/
# (or the folder given) as CommonJS for Node 20, with the files it reads at run time beside it:
#   dist/src/main.js                 the service              (node dist/src/main.js)
#   dist/scripts/{migrate,tenant,caller,channel-account}.js    the operator's commands
#   dist/src/client/                 the typed client
#   dist/src/gen/descriptors.binpb   what server reflection serves (src/grpc/descriptor-image.ts)
#   dist/prisma/migrations/          what migrate applies (src/infra/migrate.ts reads ../../prisma/migrations)
# The generated stubs and Prisma client compile along with them; nothing here needs a devDependency to run
# (test/component/production-image.test.ts runs it with production dependencies only).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)"
cd "$root"
for f in src/gen/descriptors.binpb src/generated/prisma/client.ts; do
  [[ -f $f ]] || { echo "build: $f is missing; run \`npm run generate\` first" >&2; exit 1; }
done
find "$out" -mindepth 1 -delete
node_modules/.bin/tsc -p tsconfig.build.json --outDir "$out"
cp src/gen/descriptors.binpb "$out/src/gen/"
mkdir -p "$out/prisma"
cp -R prisma/migrations "$out/prisma/"

# syntax=docker/dockerfile:1
# paysvc: the gRPC PaymentService with its HTTP notify sidecar, compiled (dist/) and run by node with production
# dependencies only: no tsx, TypeScript, Prisma CLI or buf in the image. Stages:
#   build      every dependency; buf + ts-proto + Prisma client generation; tsc → dist/ (scripts/build-dist.sh)
#   prod-deps  `npm ci --omit=dev --omit=optional`: the runtime's node_modules
#   sandbox    the fake channel gateways for docker-compose.yml (TypeScript through tsx; never production)
#   runtime    the default target: dist/, the production node_modules and package.json, as user node
# test/component/production-image.test.ts assembles what `runtime` holds and runs it (no Docker engine needed);
# test/unit/dockerfile.test.ts holds this file to that shape.

FROM node:20-bookworm-slim AS base
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

FROM base AS build
# --ignore-scripts: nothing needs an install script (CI runs that way too), and it keeps Prisma's postinstall
# from downloading engines the service never uses: it talks to MySQL through @prisma/adapter-mariadb, generates
# its client without a schema engine (hence /bin/false) and migrates with its own runner (src/infra/migrate.ts).
ENV PRISMA_SCHEMA_ENGINE_BINARY=/bin/false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY . .
RUN npm run build

FROM base AS prod-deps
# --omit=optional as well: typescript and prisma are optional peers of @prisma/client, so the lockfile marks them
# "devOptional" and --omit=dev alone would install them (and 120 packages of Prisma's CLI) after all. The only
# other optional packages are msgpackr-extract's native speed-ups for BullMQ, which fall back to plain JavaScript.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --omit=optional --ignore-scripts

FROM build AS sandbox
# docker-compose.yml's `sandbox` service names the gateway to run; nothing of this stage reaches `runtime`.
USER node

FROM base AS runtime
# The service listens on loopback unless told otherwise; in a container, every interface.
ENV NODE_ENV=production \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
# Owned by root and read-only to the service's user. dist/prisma/migrations holds the migrations
# (`node dist/scripts/migrate.js`), dist/src/gen/descriptors.binpb what server reflection serves.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The server itself as PID 1's child (compose adds an init): SIGTERM drains in-flight calls, then exits 0.
# Migrations are a separate step before a rollout: `node dist/scripts/migrate.js` (docker-compose.yml's `migrate`).
# --max-semi-space-size: the service's Node flags (src/infra/node-flags.ts says why).
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]

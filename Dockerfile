# paysvc: the gRPC PaymentService with its HTTP notify sidecar; the same image runs the mock sandbox gateway
# (`npm run sandbox`). `npm start` runs the TypeScript through tsx, a devDependency, so dependencies are
# installed in full.
FROM node:20-slim

WORKDIR /app
ENV CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Dependencies first, so code changes reuse this layer. --ignore-scripts: nothing needs an install script
# (CI runs that way too), and it keeps Prisma's postinstall from downloading engines the service never uses:
# it talks to MySQL through @prisma/adapter-mariadb and migrates with its own runner (src/infra/migrate.ts).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts

COPY . .
# gRPC stubs (buf + ts-proto → src/gen) and the Prisma client (→ src/generated); no schema engine needed.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/bin/false npm run generate

# The service listens on loopback unless told otherwise; in a container, every interface.
ENV NODE_ENV=production \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
EXPOSE 50051 8080
USER node

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# Apply pending migrations (idempotent, serialised by a MySQL named lock), then serve. This is
# `npm run db:migrate && npm start`, except that the server is exec'd as what `npm start` runs: npm starts it
# through `sh -c`, and a SIGTERM to npm kills that shell and orphans the server instead of draining it.
# tsx passes SIGTERM on to the server and waits for it to finish (the compose file adds an init as PID 1).
CMD ["sh", "-c", "npm run db:migrate && exec node_modules/.bin/tsx src/main.ts"]

# syntax=docker/dockerfile:1
# voice-stream image, in two stages. `build` installs every dependency and typechecks the sources; `runtime` has the
# production dependencies only, runs as the unprivileged `node` user, keeps its data (embedded database, spill file)
# in the /data volume, and runs `node src/main.ts` (with npm start's Node flags, decision 37) as PID 1 in exec form,
# so SIGTERM reaches it and it drains (give it 3 × STREAM_SHUTDOWN_GRACE_MS + 10 s before the engine kills it:
# --stop-timeout 40 with the default).
#   docker build -t voice-stream .
#   docker run -p 3001:3001 -e JWT_SECRET=... -e STREAM_CORS_ORIGIN=https://app.example.com \
#     -v voice-stream-data:/data --stop-timeout 40 voice-stream
# test/observability/dockerfile.test.ts runs these steps (same commands, same files) without a container engine.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    STREAM_HOST=0.0.0.0 \
    STREAM_WS_PORT=3001 \
    STREAM_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/src ./src
COPY sql ./sql
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3001
# slim images have no curl: Node's fetch asks /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.STREAM_WS_PORT || 3001) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=16", "src/main.ts"]

// PM2 process file for voice-stream: `pm2 start ecosystem.config.cjs`, `pm2 reload voice-stream-3001`, and
// `pm2 save && pm2 startup` to keep it across reboots. docs/operations.md walks through it.
//
// One PM2 app per port, in fork mode: each instance is its own process on its own port behind nginx. PM2's cluster
// mode is not used: caps, drains and live sessions are per process anyway, and the embedded database (PGlite) allows
// ONE process per STREAM_DATA_DIR. So with more than one port, set DATABASE_URL (PostgreSQL, shared by all) in the
// environment or in .env; without it the second instance refuses to start on the locked data folder.
//
// PM2 stops an app with SIGINT, then SIGKILL after kill_timeout. The server drains on SIGINT: the reply in progress
// gets STREAM_SHUTDOWN_GRACE_MS, the HTTP server and the session store's last writes as much again each at most, and
// the last OTLP export a few seconds; kill_timeout covers all of it (3 × grace + 10 s). A second SIGINT (`pm2 stop`
// again while it drains) exits at once with 130.
const { hostname } = require("node:os")

/** Ports to run, one instance each; more than one needs DATABASE_URL. */
const Ports = [3001]
/** STREAM_SHUTDOWN_GRACE_MS, in ms. */
const ShutdownGraceMs = 10000
/** Restart above this resident memory; STREAM_MEMORY_LIMIT_MB tells the server (and its memory alert) the same. */
const MemoryLimitMb = 1536

module.exports = {
  apps: Ports.map((port) => ({
    name: `voice-stream-${port}`,
    cwd: __dirname,
    script: "src/main.ts",
    // Node 24 runs the TypeScript sources directly; `nvm use 24` or an absolute path to a Node 24 binary.
    interpreter: "node",
    // The Node flags of `npm start` and the Dockerfile (decision 37: the young generation capped at 16 MB per semi-space).
    node_args: ["--max-semi-space-size=16"],
    exec_mode: "fork",
    instances: 1,
    autorestart: true,
    max_memory_restart: `${MemoryLimitMb}M`,
    kill_timeout: ShutdownGraceMs * 3 + 10000,
    // A start that has not bound its port within 60 s (migrations included) counts as failed.
    listen_timeout: 60000,
    exp_backoff_restart_delay: 200,
    merge_logs: true,
    env: {
      NODE_ENV: "production",
      STREAM_WS_PORT: String(port),
      STREAM_HOST: "127.0.0.1",
      STREAM_SHUTDOWN_GRACE_MS: String(ShutdownGraceMs),
      STREAM_MEMORY_LIMIT_MB: String(MemoryLimitMb),
      STREAM_INSTANCE_ID: `${hostname()}:${port}`
    }
  }))
}

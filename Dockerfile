# syntax=docker/dockerfile:1
# SettleProof daemon image. Build: docker build -t settleproof .
# Run:   docker run --init -v settleproof-data:/data -v ./skill.yaml:/etc/settleproof/skill.yaml:ro \
#          --env-file settleproof.env -p 127.0.0.1:8787:8787 settleproof

# Stage 1: production dependencies only, from the lock. The `node` npm package (a Node 24 for
# hosts with an older Node) is dropped: this image already is Node 24. No install scripts run.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm pkg delete dependencies.node \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Stage 2: the runtime: sources run by Node's type stripping, no build step, no dev tools.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    SETTLEPROOF_CONFIG=/etc/settleproof/skill.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The store and the DLQ file: point storage.path and dlq.path under /data.
RUN mkdir -p /data /etc/settleproof && chown node:node /data
VOLUME ["/data"]
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 8787
# /healthz answers 200 while the main loop ticks (server.port must be 8787, or change this line).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; settleproof drains and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/settleproof.js"]
CMD ["run"]

# syntax=docker/dockerfile:1
# SettleProof daemon image. Build: docker build -t settleproof .
# Run:   docker run -v settleproof-data:/data -v ./skill.yaml:/etc/settleproof/skill.yaml:ro \
#          --env-file settleproof.env -p 127.0.0.1:8787:8787 settleproof

# The base image, pinned by digest (node:24-bookworm-slim, Node 24.18.0): a rebuild gets the same
# bytes. Moving to a newer base is a deliberate change of this line.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# Stage 1: production dependencies only, exactly as the lock lists them (npm ci). No install
# scripts run, so the `node` npm package (a Node 24 for hosts with an older Node) stays inert:
# this image already is Node 24, and `node` on PATH is the image's.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Stage 2: the runtime: sources run by Node's type stripping, no build step, no dev tools.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SETTLEPROOF_CONFIG=/etc/settleproof/skill.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# check-config compares values against the shipped examples to warn about leftovers.
COPY .env.example ./
# The store and the DLQ file: point storage.path and dlq.path under /data.
RUN mkdir -p /data /etc/settleproof && chown node:node /data
VOLUME ["/data"]
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 8787
# /healthz answers 200 while the main loop ticks (server.port must be 8787, or change this line).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no --init: node is PID 1 and handles SIGTERM and SIGINT itself (it drains and exits 0);
# it starts no child processes, so there are no zombies for an init to reap. The store's writer
# lock is released by the kernel when the process dies, so a restart as PID 1 again is not blocked.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/settleproof.js"]
CMD ["run"]

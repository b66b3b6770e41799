# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

# Run stage: compiled JavaScript and production dependencies only, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/var/lib/real-estate-ai/data \
    BACKUP_DIR=/var/lib/real-estate-ai/backups
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/real-estate-ai/data /var/lib/real-estate-ai/backups \
 && chown -R node:node /var/lib/real-estate-ai
USER node
EXPOSE 3000 8000
# The sidecar listener answers 200 while ok or degraded, 503 when down.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# The same V8 flags as `npm start` (README, "Restart, logs, scaling").
CMD ["node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "--no-parallel-scavenge", "dist/src/main.js"]

# syntax=docker/dockerfile:1

# Build: install everything (the postinstall step generates the Prisma client offline),
# compile, then drop development dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

# Run: compiled code, production dependencies and the SQL migrations the service applies
# at start. Expects DATABASE_URL and JWT_SECRET (see docker-compose.yml).
FROM node:20-bookworm-slim
# Two malloc arenas and a 192 MB old generation keep resident memory flat under load
# (see README, Memory).
ENV NODE_ENV=production PORT=3000 MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/scripts ./scripts
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-old-space-size=192", "dist/src/main.js"]

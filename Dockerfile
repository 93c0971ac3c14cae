# OmniStack image: Bun runs the SaaS starter; migrations apply at start.
FROM oven/bun:1.4
WORKDIR /app
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN bun install --production --ignore-scripts
COPY core ./core
COPY plugins ./plugins
COPY starters ./starters
# The doctor (docs/deployment.md#doctor): `docker compose run --rm app bun scripts/doctor.ts`.
COPY scripts ./scripts
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0
EXPOSE 8000
# Bun's own header limit above MAX_HEADER_BYTES, so oversized headers get the contract's 431 (docs/security.md#the-edge).
CMD ["bun", "--max-http-header-size=1048576", "starters/saas/server.ts"]

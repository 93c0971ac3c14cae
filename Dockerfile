# OmniStack image: Bun runs the SaaS starter; migrations apply at start.
FROM oven/bun:1.4
WORKDIR /app
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN bun install --production --ignore-scripts
COPY core ./core
COPY plugins ./plugins
COPY starters ./starters
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0
EXPOSE 8000
CMD ["bun", "starters/saas/server.ts"]

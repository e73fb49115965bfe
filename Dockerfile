# One image for every Konstruct service; docker-compose picks the service with SERVICE.
# Node runs the TypeScript sources directly (type stripping), so there is no build stage.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs ./libs
COPY services ./services
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app /app
COPY scripts ./scripts
COPY schemas ./schemas
USER node
ARG SERVICE=gateway
ENV SERVICE=${SERVICE}
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]

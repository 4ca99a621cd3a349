# NWS Watermark: one image, four components. The command picks one:
#   docker run IMAGE api | optimizer | worker | controller
# Stage 1 builds the TypeScript and the web page; stage 2 is the runtime with production
# dependencies only, fonts for the watermark text, tini as PID 1, and a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so a source change does not re-download them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
# fonts-dejavu-core + fontconfig-config: without a font and fontconfig's configuration, sharp
# (librsvg) draws the watermark text as nothing, silently. tini forwards SIGTERM to node and
# reaps zombies, so `docker stop` and pod termination start the graceful drain at once.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fontconfig-config tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 nws \
 && useradd --uid 10001 --gid nws --home-dir /tmp --no-create-home --shell /usr/sbin/nologin nws
ENV NODE_ENV=production \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# api (and web page), optimizer, worker (probes, metrics), controller (probes, metrics)
EXPOSE 3000 3001 3002 3003
# The services' Node flags: src/shared/service-command.ts (a unit test keeps the two the same).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=64", "/app/bin/nws-watermark.js"]
CMD ["api"]

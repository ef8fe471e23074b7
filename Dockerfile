# otsd in a container (not built on the development machines, which have no Docker engine).
#   docker build -t otsd . && docker run -p 127.0.0.1:14788:14788 -v otsd-data:/data otsd
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN useradd --system --home /data --create-home otsd
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER otsd
VOLUME /data
EXPOSE 14788
# listen on all interfaces inside the container; publish the port on loopback and put TLS in front
ENTRYPOINT ["node", "dist/src/cli/main.js", "run", "--data-dir", "/data", "--listen", "0.0.0.0:14788"]

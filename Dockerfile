# syntax=docker/dockerfile:1
# mlb-ts: build with Node 20, run on Debian's HAProxy (≥ 2.6) with the Node runtime.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY generated ./generated
COPY scripts ./scripts
RUN npm ci --ignore-scripts && npm run build

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy ipvsadm libcap2-bin openssl ca-certificates \
 && setcap 'cap_net_bind_service=+ep' /usr/sbin/haproxy \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/mlb-ts --create-home --shell /usr/sbin/nologin mlb \
 && mkdir -p /etc/haproxy /var/run/haproxy /etc/ssl/mlb-ts \
 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=mlb-ts-default' \
      -keyout /tmp/key.pem -out /tmp/cert.pem 2>/dev/null \
 && cat /tmp/cert.pem /tmp/key.pem > /etc/ssl/cert.pem && rm /tmp/key.pem /tmp/cert.pem \
 && chown -R mlb:mlb /etc/haproxy /var/run/haproxy /etc/ssl/cert.pem
WORKDIR /opt/mlb-ts
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY generated ./generated
COPY templates ./templates
COPY examples ./examples
RUN ln -s /opt/mlb-ts/dist/cli/main.js /usr/local/bin/mlb-ts && chmod +x dist/cli/main.js

# HAProxy binds :80/:443 as an unprivileged user through its one file capability
# (cap_net_bind_service). --ipvs with an apply command also needs `--cap-add NET_ADMIN`.
USER mlb
EXPOSE 80 443 9090 9091
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9095/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["mlb-ts"]
CMD ["--sse", "--health-check", "--group", "external"]

#!/bin/sh
# Makes the three base images that docker-compose.yml and deploy/Dockerfile name available to the
# local Docker engine: node:20-bookworm-slim, redis:7 and nginx:1.27.
#
# For each image: already present -> nothing to do (the cache); else `docker pull`; when the public
# registry cannot be reached (offline CI machines), a stand-in is built from this machine's own
# sources and tagged with the same name, so the compose file and the Dockerfile run unchanged:
#   - a Debian bookworm root made with debootstrap from the machine's Debian mirror, `docker import`ed
#   - redis:7      Debian's redis-server (7.0) with an entrypoint that adds `--protected-mode no`,
#                  as the official image's entrypoint does (the compose network is the protection)
#   - nginx:1.27   Debian's nginx-light (1.22) with logs on stdout/stderr and `daemon off`
#   - node:20-bookworm-slim  this machine's node and npm, plus its CA certificates so that `npm ci`
#                  inside a build trusts the same TLS chain the machine does; a `node` user (uid 1000)
# Run as root (debootstrap). Env: BASE_IMAGES_CACHE (debootstrap root, default
# ~/.cache/relay-chat/docker), DEBIAN_MIRROR (default: the first URI of the machine's apt sources),
# PULL_TIMEOUT_S (one pull's limit, default 180; an unreachable registry usually fails at once).
set -eu

CACHE=${BASE_IMAGES_CACHE:-$HOME/.cache/relay-chat/docker}
PULL_TIMEOUT_S=${PULL_TIMEOUT_S:-180}
BASE_TAG=relay-chat/bookworm-root:local
NODE_IMAGE=node:20-bookworm-slim
REDIS_IMAGE=redis:7
NGINX_IMAGE=nginx:1.27

log() { printf '[base-images] %s\n' "$*"; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# After one failed pull the registry counts as unreachable: the other images are built right away.
REGISTRY_DOWN=
try_pull() {
  [ -z "$REGISTRY_DOWN" ] || return 1
  log "pulling $1"
  if timeout "$PULL_TIMEOUT_S" docker pull -q "$1" >/dev/null 2>&1; then return 0; fi
  log "pull of $1 failed: building local stand-ins"
  REGISTRY_DOWN=1
  return 1
}

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then printf '%s' "$DEBIAN_MIRROR"; return; fi
  m=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p; s/^deb \(http[^ ]*\/debian\) .*/\1/p' | head -n 1)
  printf '%s' "${m:-http://deb.debian.org/debian}"
}

# A Debian bookworm root filesystem as an image; packages are added by the Dockerfiles below.
base_root() {
  if have_image "$BASE_TAG"; then return; fi
  root="$CACHE/bookworm-root"
  if [ ! -x "$root/bin/sh" ]; then
    command -v debootstrap >/dev/null || { log 'debootstrap is missing (apt-get install debootstrap)'; exit 1; }
    rm -rf "$root"
    mkdir -p "$root"
    log "debootstrap bookworm from $(mirror)"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -n 20 "$CACHE/debootstrap.log"; exit 1; }
    # Later `apt-get install` steps in image builds use the same mirror, with lists trimmed after.
    printf 'deb %s bookworm main\n' "$(mirror)" >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  fi
  log "importing the root as $BASE_TAG"
  tar -C "$root" -c . | docker import - "$BASE_TAG" >/dev/null
}

# Builds a Dockerfile given on stdin with a context directory; `--network host` so apt reaches the
# mirror the same way this machine does.
build() {
  tag=$1 context=$2
  log "building $tag"
  docker build -q --network host -t "$tag" -f - "$context" >/dev/null
}

redis_image() {
  have_image "$REDIS_IMAGE" && return
  try_pull "$REDIS_IMAGE" && return
  base_root
  ctx=$(mktemp -d)
  cat >"$ctx/entrypoint.sh" <<'SH'
#!/bin/sh
# As the official image does: a bare `redis-server ...` runs with protected mode off.
if [ "${1:-}" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
exec "$@"
SH
  build "$REDIS_IMAGE" "$ctx" <<DOCKERFILE
FROM $BASE_TAG
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools && rm -rf /var/lib/apt/lists/* && mkdir -p /data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
DOCKERFILE
  rm -rf "$ctx"
}

nginx_image() {
  have_image "$NGINX_IMAGE" && return
  try_pull "$NGINX_IMAGE" && return
  base_root
  ctx=$(mktemp -d)
  build "$NGINX_IMAGE" "$ctx" <<DOCKERFILE
FROM $BASE_TAG
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
  rm -rf "$ctx"
}

node_image() {
  have_image "$NODE_IMAGE" && return
  try_pull "$NODE_IMAGE" && return
  base_root
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ctx=$(mktemp -d)
  cp "$(readlink -f "$node_bin")" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  build "$NODE_IMAGE" "$ctx" <<DOCKERFILE
FROM $BASE_TAG
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/sh --create-home node \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
  rm -rf "$ctx"
}

mkdir -p "$CACHE"
redis_image
nginx_image
node_image
log "ready: $NODE_IMAGE $REDIS_IMAGE $NGINX_IMAGE"

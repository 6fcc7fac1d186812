#!/bin/sh
# Entry point of the app image: secrets may come from files (Compose's generated secrets volume,
# Docker or Kubernetes secrets mounted as files). For SESSION_SECRET, METRICS_TOKEN and
# REDIS_PASSWORD, `<NAME>_FILE` sets `<NAME>` from that file unless `<NAME>` is already non-empty.
# REDIS_PASSWORD is then put into REDIS_URL when the URL carries no credentials of its own
# (the password must be URL-safe, e.g. hex; the generated one is).
set -eu
for name in SESSION_SECRET METRICS_TOKEN REDIS_PASSWORD; do
  eval "value=\${$name:-}; file=\${${name}_FILE:-}"
  if [ -z "$value" ] && [ -n "$file" ]; then
    value=$(cat "$file")
    export "$name=$value"
  fi
  unset "${name}_FILE" 2>/dev/null || true
done
if [ -n "${REDIS_PASSWORD:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  case "$REDIS_URL" in
    *://*@*) ;;
    *://*) REDIS_URL="${REDIS_URL%%://*}://:${REDIS_PASSWORD}@${REDIS_URL#*://}" ;;
  esac
  export REDIS_URL
fi
unset REDIS_PASSWORD
exec "$@"

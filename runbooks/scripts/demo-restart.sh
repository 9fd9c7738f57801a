#!/bin/sh
# Restart (heal) opsloop's built-in demo service: POST /admin/heal on its loopback port.
set -eu
port=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="${2:-}"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
[ -n "$port" ] || { echo "--port is required" >&2; exit 64; }
exec node -e '
const port = process.argv[1];
fetch(`http://127.0.0.1:${port}/admin/heal`, { method: "POST", signal: AbortSignal.timeout(5000) })
  .then(async (res) => { const body = (await res.text()).trim(); console.log(`demo service on port ${port}: HTTP ${res.status} ${body}`); process.exit(res.ok ? 0 : 1); })
  .catch((err) => { console.error(`demo service on port ${port} unreachable: ${err.cause?.code ?? err.message}`); process.exit(1); });
' "$port"

#!/bin/sh
set -eu
service=""
dry_run=no
while [ $# -gt 0 ]; do
  case "$1" in
    --service) service="${2:-}"; shift 2 ;;
    --dry-run) dry_run=yes; shift ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
[ -n "$service" ] || { echo "--service is required" >&2; exit 64; }
state_dir="${OPSLOOP_SCRIPT_STATE_DIR:-}"
[ -n "$state_dir" ] && [ -d "$state_dir" ] || { echo "OPSLOOP_SCRIPT_STATE_DIR must name an existing directory" >&2; exit 2; }
if [ "$dry_run" = yes ]; then
  echo "would restart $service"
  exit 0
fi
printf 'restart %s case=%s attempt=%s at=%s\n' "$service" "${OPSLOOP_CASE_ID:-}" "${OPSLOOP_ATTEMPT:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$state_dir/restarts.log"
echo "restart of $service recorded"

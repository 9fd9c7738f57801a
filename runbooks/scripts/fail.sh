#!/bin/sh
set -eu
code=1
while [ $# -gt 0 ]; do
  case "$1" in
    --code) code="${2:-}"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
case "$code" in ''|*[!0-9]*) echo "--code needs a whole number" >&2; exit 64 ;; esac
echo "failing on purpose with code $code" >&2
exit "$code"

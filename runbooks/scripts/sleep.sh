#!/bin/sh
set -eu
seconds=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:-}"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "--seconds needs a whole number" >&2; exit 64 ;; esac
echo "sleeping ${seconds}s"
sleep "$seconds"
echo "slept ${seconds}s"

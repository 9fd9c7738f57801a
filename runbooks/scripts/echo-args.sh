#!/bin/sh
# Prints the argument count, then each argument on its own line, exactly as received.
echo "argc=$#"
i=1
for arg in "$@"; do
  printf 'arg%s=%s\n' "$i" "$arg"
  i=$((i + 1))
done

#!/bin/sh
# The shape of the official nginx /docker-entrypoint.sh.
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  if find "/docker-entrypoint.d/" -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read v; then
    echo "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
    for f in $(find /docker-entrypoint.d/ -type f -name '*.sh' | sort -V); do
      if [ -x "$f" ]; then echo "$0: Launching $f"; "$f"; else echo "$0: Ignoring $f, not executable"; fi
    done
    echo "$0: Configuration complete; ready for start up"
  fi
fi
exec "$@"

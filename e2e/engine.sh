#!/usr/bin/env bash
# Start or stop a Docker Engine for the e2e (Debian's docker.io, dockerd 20.10).
#   e2e/engine.sh start   start dockerd in the background unless one already answers; wait until ready
#   e2e/engine.sh stop    stop the dockerd this script started (its pid file), nothing else
#   e2e/engine.sh status  exit 0 when an engine answers
#   e2e/engine.sh install apt-get install docker.io docker-compose mmdebstrap when missing (root)
# The pid of a dockerd we started is kept in $E2E_STATE (default /var/run/cuirass-e2e-dockerd.pid);
# an engine someone else started is used and never stopped.
set -euo pipefail
PIDFILE="${E2E_STATE:-/var/run/cuirass-e2e-dockerd.pid}"
LOG="${E2E_DOCKERD_LOG:-/var/log/cuirass-e2e-dockerd.log}"
DOCKER="${DOCKER:-docker}"

answers() { timeout 10 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-}" in
  install)
    need=()
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
    command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
    if [ ${#need[@]} -gt 0 ]; then
      [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { echo "engine.sh: need root and apt-get to install ${need[*]}" >&2; exit 1; }
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    ;;
  start)
    if answers; then echo "engine: already running"; exit 0; fi
    command -v dockerd >/dev/null 2>&1 || { echo "engine.sh: dockerd not installed (run: e2e/engine.sh install)" >&2; exit 1; }
    # a stale socket or pid file from a killed daemon blocks a new one
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
    setsid dockerd --storage-driver=overlay2 >>"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 120); do
      if answers; then echo "engine: started (pid $(cat "$PIDFILE"))"; exit 0; fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "engine.sh: dockerd exited; see $LOG" >&2; tail -20 "$LOG" >&2; rm -f "$PIDFILE"; exit 1; }
      sleep 0.5
    done
    echo "engine.sh: dockerd not ready after 60 s; see $LOG" >&2; exit 1
    ;;
  stop)
    [ -f "$PIDFILE" ] || { echo "engine: not started by engine.sh, left alone"; exit 0; }
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$PIDFILE"; echo "engine: stopped"
    ;;
  status) answers ;;
  *) echo "usage: e2e/engine.sh install|start|stop|status" >&2; exit 2 ;;
esac

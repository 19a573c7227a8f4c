#!/usr/bin/env bash
# Build the e2e replica images, skipping any already present with the same definition.
#   e2e/images.sh            build what is missing or changed, print one line per image
#   e2e/images.sh --list     print the tags only
# The base rootfs (mmdebstrap --variant=minbase bookworm, ~1 min) is cached as a tarball in
# $E2E_CACHE (default /var/cache/cuirass-e2e) and imported as cuirass-e2e/rootfs:bookworm.
# Every image carries the label cuirass.e2e.hash (sha256 of its folder and its base's hash), so
# an edited Dockerfile or script is rebuilt and an unchanged one is not.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${E2E_CACHE:-/var/cache/cuirass-e2e}"
MIRROR="${E2E_MIRROR:-http://deb.debian.org/debian}"
# folder:tag, base first
IMAGES=(base:cuirass-e2e/base:bookworm postgres:postgres:16 redis:redis:7 nginx:nginx:1.27 httpd:httpd:2.4 mariadb:mariadb:10.11 python:python:3.11)
# more names for a built replica (the tags e2e/foreign's corpus Compose files ask for), tag:alias
ALIASES=(postgres:16:postgres:latest nginx:1.27:nginx:latest mariadb:10.11:mariadb:10-focal)
if [ "${1:-}" = --list ]; then for i in "${IMAGES[@]}"; do echo "${i#*:}"; done; for a in "${ALIASES[@]}"; do echo "${a#*:*:}"; done; exit 0; fi

if ! docker image inspect cuirass-e2e/rootfs:bookworm >/dev/null 2>&1; then
  tarball="$CACHE/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    mkdir -p "$CACHE"
    echo "images: mmdebstrap bookworm -> $tarball"
    mmdebstrap --quiet --format=tar --variant=minbase --include=ca-certificates bookworm "$tarball.part" "$MIRROR"
    mv "$tarball.part" "$tarball"
  fi
  docker import "$tarball" cuirass-e2e/rootfs:bookworm >/dev/null
  echo "images: imported cuirass-e2e/rootfs:bookworm"
fi

hash_of() { (cd "$HERE/images/$1" && find . -type f | LC_ALL=C sort | xargs sha256sum; echo "${2:-}") | sha256sum | cut -c1-16; }
base_hash=""
for entry in "${IMAGES[@]}"; do
  dir="${entry%%:*}"; tag="${entry#*:}"
  h="$(hash_of "$dir" "$base_hash")"
  [ "$dir" = base ] && base_hash="$h"
  have="$(docker image inspect --format '{{index .Config.Labels "cuirass.e2e.hash"}}' "$tag" 2>/dev/null || true)"
  if [ "$have" = "$h" ]; then echo "images: $tag up to date"; continue; fi
  start=$SECONDS
  log="$(mktemp)"
  if ! docker build --label "cuirass.e2e.hash=$h" -t "$tag" "$HERE/images/$dir" >"$log" 2>&1; then
    tail -30 "$log" >&2; rm -f "$log"; echo "images: $tag failed to build" >&2; exit 1
  fi
  rm -f "$log"
  echo "images: $tag built in $((SECONDS - start)) s"
done
for a in "${ALIASES[@]}"; do
  tag="${a%:*:*}"; alias="${a#*:*:}"
  if [ "$(docker image inspect --format '{{.Id}}' "$tag")" != "$(docker image inspect --format '{{.Id}}' "$alias" 2>/dev/null || true)" ]; then
    docker tag "$tag" "$alias"; echo "images: $alias tagged (= $tag)"
  fi
done

#!/usr/bin/env bash
# Makes sure a Docker Engine answers: installs Debian's docker.io (and debootstrap, which the base
# image stand-in needs) when missing, and starts dockerd in the background when it is not running.
# Idempotent; prints where the daemon logs. Needs root.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
log=/var/log/nws-dockerd.log
echo "starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not answer within 30 s; last lines of $log:" >&2
tail -20 "$log" >&2
exit 1

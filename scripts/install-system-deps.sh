#!/usr/bin/env bash
# Installs the Debian packages the local stack and the tests use, when missing:
# RabbitMQ and Redis (the stack's broker and cache), Chromium (end-to-end tests), a font for
# the watermark text, and Prometheus with promtool (tests/observability: alert unit tests and the
# dashboards' queries against a real Prometheus, which the tests start on their own port; nothing
# here relies on the packaged service), and shellcheck (tests/chart lints k8s/e2e.sh). Needs root (or sudo). Safe to run again.
set -euo pipefail

need=()
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || need+=(prometheus)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

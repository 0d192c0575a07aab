#!/usr/bin/env bash
# Checks deploy/: the alert rules parse and pass their unit tests, the dashboard is valid JSON
# whose queries parse, and both read only the series nest-resilience publishes.
# Installs promtool (Debian's prometheus package) when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

install_promtool() {
  # promtool ships inside the prometheus package, whose server systemd would start: on a
  # workstation, ask instead of starting a server behind the user's back.
  if [ -d /run/systemd/system ] && [ -z "${CI:-}" ]; then
    echo "promtool is missing: install it (apt-get install prometheus, or a release from" \
      "https://prometheus.io/download/) and run again." >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "promtool is missing and apt-get is not available: install promtool and run again." >&2
    exit 1
  fi
  local sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo'
  echo 'Installing promtool (Debian package prometheus)...' >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Only promtool is wanted: leave no server running.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
}

command -v promtool >/dev/null 2>&1 || install_promtool

promtool check rules prometheus/alerts.yml
promtool test rules prometheus/alerts.test.yml

queries="$(mktemp)"
trap 'rm -f "$queries"' EXIT
node check-metrics.js >"$queries"
echo 'Checking the dashboard queries (grafana/dashboard.json)'
promtool check rules "$queries" >/dev/null
echo '  SUCCESS'

#!/usr/bin/env bash
# Installs the Debian packages Paperboy's tests use, when they are missing: Debian's chromium
# (driven by Playwright for the browser tests), redis-server (tests start their own when no
# REDIS_URL is given) and spamassassin (a real digest's spam score, local rules only). Needs root; without it, says what to install and carries on.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v spamassassin >/dev/null 2>&1 || missing+=(spamassassin)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

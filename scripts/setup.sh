#!/bin/sh
# Prepares this machine for Outpost: Debian packages the console and the tests need, npm packages.
# Idempotent and quick when everything is already there. Set OUTPOST_SKIP_APT=1 to skip the apt step.
set -eu
cd "$(dirname "$0")/.."

# avahi-*: an independent mDNS peer for the discovery tests (with --no-install-recommends avahi-utils does not pull
# libnss-mdns, which would rewrite /etc/nsswitch.conf); iproute2 makes the tests' network namespaces; openssl and curl
# play a third-party Margo device; iptables drops a site's link in the partition tests.
PKGS="git nats-server chromium podman runc podman-compose skopeo docker-registry socat busybox-static minisign ca-certificates avahi-utils avahi-daemon dbus iproute2 openssl curl containerd iptables"

missing=""
if [ "${OUTPOST_SKIP_APT:-0}" != "1" ] && command -v dpkg-query >/dev/null 2>&1; then
  for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing="$missing $p"
    fi
  done
fi

if [ -n "$missing" ]; then
  echo "outpost setup: installing Debian packages:$missing"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # docker-registry starts a system service on port 5000 on install; tests run their own instances.
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
    # Likewise containerd when this script installed it (tests start their own, with their own socket);
    # one that was already there (Docker's) is left alone.
    case " $missing " in *" containerd "*) $SUDO systemctl disable --now containerd >/dev/null 2>&1 || true ;; esac
    # avahi-daemon would start on the host's interfaces; the tests run their own inside network namespaces.
    $SUDO systemctl disable --now avahi-daemon.socket avahi-daemon >/dev/null 2>&1 || true
  fi
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "outpost setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

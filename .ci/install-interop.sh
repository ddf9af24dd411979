#!/usr/bin/env bash
# Installs the real components the scrape interop tests
# (internal/scrape/interop_test.go, build tag "interop") run against:
# Prometheus' node exporter, the Redis exporter beside a Redis server, and
# etcd. Idempotent: packages whose binary is present are left alone, and
# apt is not touched at all when everything is there. Runs as root on a
# bare Debian 12; the packages' services are not started (the tests start
# the binaries themselves, on free loopback ports).
set -euo pipefail

# binary:package, one pair per component.
wanted=(
	/usr/bin/prometheus-node-exporter:prometheus-node-exporter
	/usr/bin/prometheus-redis-exporter:prometheus-redis-exporter
	/usr/bin/redis-server:redis-server
	/usr/bin/etcd:etcd-server
)

missing=()
for pair in "${wanted[@]}"; do
	bin=${pair%%:*}
	pkg=${pair#*:}
	if [[ ! -x $bin ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-interop: all present (${wanted[*]%%:*}), nothing installed"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-interop: must run as root to install: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Without an init system the packages' maintainer scripts would try, and
# fail, to start their services; policy-rc.d tells invoke-rc.d not to.
# Only one of our own making is removed afterwards.
policy=/usr/sbin/policy-rc.d
ours=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	ours=1
fi
cleanup() { if ((ours)); then rm -f "$policy"; fi; }
trap cleanup EXIT

log=$(mktemp)
if ! apt-get update -qq >"$log" 2>&1 ||
	! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "install-interop: installing ${missing[*]} failed" >&2
	exit 1
fi
rm -f "$log"

for pair in "${wanted[@]}"; do
	bin=${pair%%:*}
	if [[ ! -x $bin ]]; then
		echo "install-interop: $bin still missing after installing ${missing[*]}" >&2
		exit 1
	fi
done
for pkg in "${missing[@]}"; do
	echo "install-interop: installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
done

#!/usr/bin/env bash
# Installs the real components the server interop tests
# (cmd/vigil/interop_*_test.go, build tag "interop") run against: a real
# Prometheus (which federates from Vigil) with its promtool, and
# Prometheus' node exporter. Idempotent: packages whose binaries are
# present are left alone, and apt is not touched at all when everything is
# there. Runs as root on a bare Debian 12; the packages' services are not
# started (the tests start the binaries themselves, on free loopback ports
# with temporary directories).
set -euo pipefail

# binary:package, one pair per binary.
wanted=(
	/usr/bin/prometheus:prometheus
	/usr/bin/promtool:prometheus
	/usr/bin/prometheus-node-exporter:prometheus-node-exporter
)

missing=()
for pair in "${wanted[@]}"; do
	bin=${pair%%:*}
	pkg=${pair#*:}
	if [[ ! -x $bin ]] && [[ " ${missing[*]-} " != *" $pkg "* ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-server-interop: all present (${wanted[*]%%:*}), nothing installed"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-server-interop: must run as root to install: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Without an init system the packages' maintainer scripts would try, and
# fail, to start their services; a policy-rc.d answering 101 tells
# invoke-rc.d not to. Only one of our own making is removed afterwards.
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
	echo "install-server-interop: installing ${missing[*]} failed" >&2
	exit 1
fi
rm -f "$log"

for pair in "${wanted[@]}"; do
	bin=${pair%%:*}
	if [[ ! -x $bin ]]; then
		echo "install-server-interop: $bin still missing after installing ${missing[*]}" >&2
		exit 1
	fi
done
for pkg in "${missing[@]}"; do
	echo "install-server-interop: installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
done

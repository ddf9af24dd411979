#!/usr/bin/env bash
# Type-checks and unit-tests the web UI, rebuilds it from web/ui with the
# locked dependencies, and fails when the committed build in
# internal/web/ui/dist differs from it, so the embedded assets always match
# their source.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
	echo "ui-check: npm is missing; installing Debian's nodejs and npm" >&2
	apt-get update -qq
	apt-get install -y -qq nodejs npm >/dev/null
fi
echo "ui-check: node $(node --version), npm $(npm --version)"

(
	cd web/ui
	npm ci --no-audit --no-fund
	npm run typecheck
	npm test
	npm run build
)

status=0
if ! git diff --exit-code --stat -- internal/web/ui/dist; then
	echo "FAIL: internal/web/ui/dist differs from a fresh build of web/ui; run 'npm run build' in web/ui and commit the result" >&2
	status=1
fi
untracked=$(git ls-files --others --exclude-standard -- internal/web/ui/dist)
if [ -n "$untracked" ]; then
	echo "FAIL: the fresh build made files that are not committed:" >&2
	echo "$untracked" >&2
	status=1
fi
if [ "$status" -eq 0 ]; then
	echo "ui-check: committed web UI build matches the source"
fi
exit "$status"

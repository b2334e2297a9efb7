#!/usr/bin/env bash
# Re-vendor the front-end assets into static/vendor/ from the npm registry
# (not run by make run or CI: the files are committed). Versions are pinned
# here and in static/vendor/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent htmx.org@2.0.11 @picocss/pico@2.1.1 chart.js@4.5.1 >/dev/null)
for f in "$tmp"/*.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
install -D -m 644 "$tmp"/htmx.org-2.0.11/package/dist/htmx.min.js static/vendor/htmx/htmx.min.js
install -D -m 644 "$tmp"/htmx.org-2.0.11/package/LICENSE static/vendor/htmx/LICENSE
install -D -m 644 "$tmp"/picocss-pico-2.1.1/package/css/pico.min.css static/vendor/pico/pico.min.css
install -D -m 644 "$tmp"/picocss-pico-2.1.1/package/LICENSE.md static/vendor/pico/LICENSE.md
install -D -m 644 "$tmp"/chart.js-4.5.1/package/dist/chart.umd.min.js static/vendor/chartjs/chart.umd.min.js
install -D -m 644 "$tmp"/chart.js-4.5.1/package/LICENSE.md static/vendor/chartjs/LICENSE.md
sed -i 's|//# sourceMappingURL=.*$||; s|/\*# sourceMappingURL=.*\*/||' \
    static/vendor/htmx/htmx.min.js static/vendor/pico/pico.min.css static/vendor/chartjs/chart.umd.min.js
echo "vendored into static/vendor/"

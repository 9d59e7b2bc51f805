#!/usr/bin/env bash
# Refresh Cloudflare's published edge ranges, then the Nginx snippet that allows only them; reload Nginx.
# Run from the checkout (e.g. weekly from cron): infra/scripts/refresh-cloudflare-ips.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=shared/web/cloudflare-ips.txt
tmp=$(mktemp)
{
  sed -n '1,2p' "$data"
  curl -fsS https://www.cloudflare.com/ips-v4
  echo
  curl -fsS https://www.cloudflare.com/ips-v6
  echo
} | sed '/^$/d' > "$tmp"
# Refuse an empty or malformed download rather than locking every visitor out.
count=$(grep -vc '^#' "$tmp" || true)
[ "$count" -ge 10 ] || { echo "refusing: only $count ranges downloaded" >&2; exit 1; }
python3 infra/scripts/render_cloudflare_conf.py >/dev/null  # validates the current file still renders
mv "$tmp" "$data"
sudo mkdir -p /etc/nginx/viztube
python3 infra/scripts/render_cloudflare_conf.py | sudo tee /etc/nginx/viztube/cloudflare.conf >/dev/null
sudo nginx -t && sudo systemctl reload nginx

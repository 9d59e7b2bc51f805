"""Render the Nginx snippet (set_real_ip_from + allow) from shared/web/cloudflare-ips.txt.

    python infra/scripts/render_cloudflare_conf.py > /etc/nginx/viztube/cloudflare.conf
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "web" / "cloudflare-ips.txt"


def ranges(path: Path = DATA) -> list[str]:
    found = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            found.append(str(ipaddress.ip_network(line)))  # refuses anything that is not a network
    return found


def render(path: Path = DATA) -> str:
    lines = ["# Generated from shared/web/cloudflare-ips.txt by infra/scripts/render_cloudflare_conf.py"]
    for network in ranges(path):
        lines += [f"set_real_ip_from {network};", f"allow {network};"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""Who the client is: the socket peer, or the address a configured trusted proxy forwarded (never a header a
client could set to dodge rate limits)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from chalice.app import Request

from shared.settings import get_settings

# Cloudflare's published ranges (infra/scripts/refresh-cloudflare-ips.sh keeps it current), next to this module
# so that it ships in the Lambda package too.
CLOUDFLARE_RANGES = Path(__file__).with_name("cloudflare-ips.txt")


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRUSTED_PROXIES: CIDRs, plus `cloudflare` for Cloudflare's published ranges (shared/web/cloudflare-ips.txt)."""
    networks = []
    for entry in entries:
        if entry.lower() == "cloudflare":
            lines = CLOUDFLARE_RANGES.read_text().splitlines()
            networks += [ipaddress.ip_network(line.strip()) for line in lines if line.strip() and line[0] != "#"]
        else:
            networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks)


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def client_ip(request: Request) -> str:
    """The socket peer; a forwarded header is believed only when that peer is a configured trusted proxy
    (so a client cannot pick its own address to dodge rate limits)."""
    peer = ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"
    networks = _trusted_networks(get_settings().trusted_proxies)
    peer_ip = _ip(peer)
    if not networks or peer_ip is None or not any(peer_ip in n for n in networks):
        return peer
    forwarded = _ip(request.headers.get("cf-connecting-ip"))
    if forwarded is not None:
        return str(forwarded)
    # X-Forwarded-For: the right-most address our trusted proxies did not add themselves.
    for hop in reversed((request.headers.get("x-forwarded-for") or "").split(",")):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break
        if not any(hop_ip in n for n in networks):
            return str(hop_ip)
    real = _ip(request.headers.get("x-real-ip"))
    return str(real) if real is not None else peer

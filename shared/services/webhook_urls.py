"""Which URLs a webhook may be sent to: the shape of an endpoint's URL, and, in the `prod` stage, the refusal of any
address that is not on the public internet (no server-side request forgery).

A URL is checked twice: when the endpoint is registered (its name must resolve to public addresses only), and again
at every delivery, where the sender connects to the very address checked here (`resolve_target`) rather than
resolving the name a second time: a name that answered a public address at registration and answers 127.0.0.1 or
169.254.169.254 now (DNS rebinding) is refused then. Outside `prod` loopback and plain http are allowed, so a
developer can point an endpoint at a receiver on their own machine."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from shared import errors
from shared.settings import get_settings
from shared.text import control_character

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """A URL the server must not send to (its message says why); a 400 at registration, a failed attempt later."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts, and the address to connect to (checked when `pinned`)."""

    scheme: str
    host: str  # the name as in the URL (the Host header, TLS's server name and the certificate's)
    port: int
    path: str  # path and query, as sent on the request line
    address: str | None  # the checked address to connect to; None: let the system resolve `host` (outside prod)


def strict() -> bool:
    """Whether only https URLs resolving to public addresses are allowed: in the prod stage."""
    return get_settings().stage == "prod"


def _parts(url: str) -> SplitResult:
    """The URL's parts, or UnsafeTarget saying what is wrong with its shape."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"url must be at most {MAX_URL_LENGTH} characters")
    if control_character(url) or any(c.isspace() for c in url):
        raise UnsafeTarget("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number (or out of range) raises here
    except ValueError:
        raise UnsafeTarget("url is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("url must be an absolute https:// URL with a host name")
    if parts.scheme != "https" and strict():
        raise UnsafeTarget("url must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url must not contain a user name or password")
    if parts.fragment:
        raise UnsafeTarget("url must not have a #fragment")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise UnsafeTarget("url has a host name that is not valid") from None
    return parts


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), which is where it really leads."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def public_address(address: Address) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local (cloud metadata at
    169.254.169.254), multicast, reserved, unspecified or shared (carrier-grade NAT), nor an IPv6 form of one."""
    for candidate in (address, _embedded_ipv4(address)):
        if candidate is None:
            continue
        if (not candidate.is_global or candidate.is_multicast or candidate.is_reserved or candidate.is_private
                or candidate.is_loopback or candidate.is_link_local or candidate.is_unspecified):
            return False
    return True


def _resolve(host: str, port: int) -> list[Address]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeTarget(f"url's host {host!r} does not resolve ({exc})") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # an IPv6 scope id is not part of it
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeTarget(f"url's host {host!r} does not resolve")
    return found


def resolve_target(url: str) -> Target:
    """Where a delivery to `url` connects. In prod every address the host name resolves to must be public (one
    private answer among public ones would let a rebinding name pick it), and the first one is pinned."""
    parts = _parts(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not strict():
        return Target(parts.scheme, host, port, path, None)
    addresses = _resolve(host, port)
    refused = [a for a in addresses if not public_address(a)]
    if refused:
        raise UnsafeTarget(f"url's host {host!r} resolves to {refused[0]}, which is not a public internet address "
                           "(private, loopback, link-local, multicast and reserved addresses are refused)")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


def check_endpoint_url(url: str) -> str:
    """The URL an endpoint is registered with, checked as a delivery would check it; a 400 naming the problem."""
    try:
        resolve_target(url)
    except UnsafeTarget as exc:
        raise errors.BadRequest(f"Invalid webhook URL: {exc}", errors=[str(exc)]) from None
    return url

"""Where a party's webhook may point: only at the public internet.

A party chooses the URL, and the worker posts to it from inside the customs network; a URL
naming a loopback, private, link-local (cloud metadata) or reserved address would turn the
worker into the party's proxy into that network. The name is resolved and every address it
gives is checked, at registration and again before each send (the name may be re-pointed).
"""

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit


def address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    return f"{ip} is a loopback, private, link-local or reserved address"


def target_problem(url: str, allowed_hosts: Collection[str]) -> str | None:
    """Why the worker must not post to `url`, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in allowed_hosts:
        return None
    try:
        found = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return f"{host} does not resolve ({error.strerror})"
    for *_, sockaddr in found:
        problem = address_problem(str(sockaddr[0]))
        if problem:
            return f"{host}: {problem}; receivers must be on the public internet"
    return None

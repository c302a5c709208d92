"""Sending one delivery to an address a seller typed, without reaching the shop's own network.

An address is checked twice, the same way: when the seller saves it, and at
every attempt (a name may resolve elsewhere later). The check (``target``):

- ``https`` only (``http`` too when ``WEBHOOKS_ALLOW_HTTP``, tests only), no
  user or password in it, a port from 1 to 65535;
- the host is resolved here (``getaddrinfo``) and *every* address it resolves
  to must be globally routable: loopback, private (RFC 1918, ULA), link-local
  (169.254.0.0/16 — cloud metadata — and fe80::/10), shared (100.64.0.0/10),
  multicast, reserved, unspecified and documentation addresses are refused,
  also inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses;
- the connection goes to the address vetted, never to a second lookup of the
  name (DNS rebinding), with the name in TLS SNI (certificate checked
  against it) and in ``Host``.

``WEBHOOKS_ALLOW_PRIVATE`` lifts the address rule (the test settings, which
run a receiver on 127.0.0.1). Redirects are never followed: a 3xx is a
failed attempt, recorded with its ``Location``. Connecting takes at most
``CONNECT_TIMEOUT`` seconds, the whole attempt ``TOTAL_TIMEOUT``; at most
``READ_CAP`` bytes of the answer are read and ``EXCERPT`` kept.

No ORM here: address in, a :class:`Target` or a :class:`Refused` out; bytes
in, an :class:`Outcome` out.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
READ_CAP = 64 * 1024
EXCERPT = 1024
URL_MAX = 500

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """An address the shop will not send to; ``code`` says which rule (see views)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent
    address: str  # the vetted IP connected to


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str  # "" or a code: refused:<rule>, redirect, timeout, connect, tls, protocol
    detail: str
    duration_ms: int
    excerpt: str

    @property
    def succeeded(self) -> bool:
        return self.error == "" and self.status_code is not None and 200 <= self.status_code < 300


def address_problem(ip: IP) -> str | None:
    """The rule an address breaks (``loopback``, ``private``...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: IP | None = ip.ipv4_mapped or ip.sixtofour
        if ip.teredo:
            embedded = ip.teredo[1]
        if ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def url_parts(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an address the rules allow in form; else :class:`Refused`."""
    url = url.strip()
    if not url:
        raise Refused("empty")
    if len(url) > URL_MAX:
        raise Refused("too_long")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise Refused("malformed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise Refused("scheme")
    if scheme == "http" and not allow_http:
        raise Refused("not_https")
    if parts.username is not None or parts.password is not None:
        raise Refused("credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("no_host")
    if port == 0:
        raise Refused("malformed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[IP]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Refused("unresolved", host) from None
    addresses: list[IP] = []
    for _family, _type, _proto, _name, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise Refused("unresolved", host)
    return addresses


def target(url: str, *, allow_private: bool, allow_http: bool) -> Target:
    """Check ``url`` by every rule and pick the address to connect to."""
    scheme, host, port, path = url_parts(url, allow_http=allow_http)
    addresses = resolve(host, port)
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem is not None:
                raise Refused(problem, str(ip))
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to the vetted address; TLS (when asked) checks the certificate for the name."""

    def __init__(self, where: Target, *, tls: ssl.SSLContext | None) -> None:
        super().__init__(where.host, where.port, timeout=CONNECT_TIMEOUT)
        self.where = where
        self.tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self.where.address, self.where.port), CONNECT_TIMEOUT)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.where.host)
        self.sock = sock


def _excerpt(data: bytes) -> str:
    return data[:EXCERPT].decode("utf-8", errors="replace")


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    allow_http: bool,
    tls: ssl.SSLContext | None = None,
) -> Outcome:
    """POST ``body`` once; every failure is an :class:`Outcome`, never an exception."""
    began = time.monotonic()

    def ms() -> int:
        return int((time.monotonic() - began) * 1000)

    try:
        where = target(url, allow_private=allow_private, allow_http=allow_http)
    except Refused as exc:
        return Outcome(None, f"refused:{exc.code}", exc.detail, ms(), "")
    context = (tls or ssl.create_default_context()) if where.scheme == "https" else None
    conn = _PinnedConnection(where, tls=context)
    try:
        conn.connect()
        sock = conn.sock  # http.client lets go of it once the answer says "close"
        assert sock is not None
        sock.settimeout(max(TOTAL_TIMEOUT - (time.monotonic() - began), 0.1))
        conn.request("POST", where.path, body=body, headers=headers)
        response = conn.getresponse()
        data = b""
        while len(data) < READ_CAP:
            left = TOTAL_TIMEOUT - (time.monotonic() - began)
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = response.read1(READ_CAP - len(data))
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        return Outcome(None, "timeout", "", ms(), "")
    except ssl.SSLError as exc:
        return Outcome(None, "tls", str(exc)[:200], ms(), "")
    except (http.client.HTTPException, ValueError) as exc:
        return Outcome(None, "protocol", str(exc)[:200], ms(), "")
    except OSError as exc:
        return Outcome(None, "connect", str(exc)[:200], ms(), "")
    finally:
        conn.close()
    status = response.status
    if 300 <= status < 400:
        location = (response.getheader("Location") or "")[:200]
        return Outcome(status, "redirect", location, ms(), _excerpt(data))
    return Outcome(status, "", "", ms(), _excerpt(data))

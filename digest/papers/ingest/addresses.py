"""Which addresses feeds are fetched from: public ones only, unless an operator allows more.

A curator types a Source URL and a worker fetches it. Unchecked, that URL could point at
``127.0.0.1``, the cloud metadata service on ``169.254.169.254`` or a database on the private
network, and the Source page would show what answered (server-side request forgery). So:

* every address the host name resolves to must be public (``ipaddress``: ``is_global`` and not
  multicast), or inside one of ``FETCH_ALLOWED_NETWORKS``. An IPv4 address carried inside an
  IPv6 one (``::ffff:10.0.0.1``, 6to4, NAT64) is judged as the IPv4 address it carries.
* The check runs each time a connection is opened: for the URL and for every redirect.
* The connection goes to the very address that was checked: there is no second look-up that a
  DNS server could answer differently (DNS rebinding). TLS still sends the host name (SNI) and
  checks the certificate against it, and the Host header still names the host.
* Proxies from the environment (``HTTP_PROXY``…) are not used: a proxy resolves names itself,
  past the check.

How: requests' transport adapter mounts urllib3 connection classes whose ``_new_conn`` (the one
place urllib3 resolves and connects) resolves, checks and connects to the checked address. No
maintained library on PyPI does this for requests: ``advocate`` does the same thing this way but
was last released in 2020 for urllib3 1.x; the others are young, small, or for httpx.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: IPv4 in the last 32 bits
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated "::a.b.c.d"


class AddressRefused(Exception):
    """The URL points at an address feeds are not fetched from; ``str()`` says which and why.

    Not an ``OSError``: urllib3 and requests let it through unwrapped, so it is never retried
    and never mistaken for a network failure."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(str(net), strict=False) for net in settings.FETCH_ALLOWED_NETWORKS]


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str:
    """Why feeds are not fetched from ``address`` ("a loopback address"), or ``""``."""
    judged = _embedded_ipv4(address) or address
    if any(address in net or judged in net for net in allowed_networks()):
        return ""
    if judged.is_loopback:
        return "a loopback address"
    if judged.is_link_local:
        return "a link-local address"
    if judged.is_multicast:
        return "a multicast address"
    if judged.is_unspecified:
        return "the unspecified address"
    if judged.is_private:
        return "a private address"
    if not judged.is_global:
        return "not a public address"
    return ""


def _refused(host: str, address: IPAddress, why: str) -> AddressRefused:
    embedded = _embedded_ipv4(address)
    shown = f"{address} (IPv4 {embedded})" if embedded else str(address)
    try:
        literal = _parse_ip(host) == address
    except ValueError:
        literal = False
    where = f"{shown} is" if literal else f"{host} resolves to {shown},"
    return AddressRefused(
        f"refused to fetch from {host}: {where} {why}; feeds are fetched from public "
        "addresses only (an operator can allow a network with FETCH_ALLOWED_NETWORKS)"
    )


def _parse_ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone ("%eth0")


def checked_addresses(host: str, port: int) -> list[tuple[str, int]]:
    """Resolve ``host`` once; every address must be allowed (a name that resolves to a public
    and a private address is refused). Raises ``AddressRefused``, or ``socket.gaierror`` when
    the name does not resolve."""
    addresses: list[tuple[str, int]] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        address = _parse_ip(sockaddr[0])
        why = refusal(address)
        if why:
            raise _refused(host, address, why)
        if (sockaddr[0], port) not in addresses:
            addresses.append((sockaddr[0], port))
    return addresses


def check_url(url: str) -> None:
    """Refuse, without any network access, a URL that is not http(s) or names a refused IP
    address (or ``localhost``) literally. Names are checked when fetched."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise AddressRefused("only http and https URLs can be fetched")
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        # Always loopback (RFC 6761), without asking a resolver.
        if refusal(ipaddress.ip_address("127.0.0.1")):
            raise AddressRefused(
                f"refused to fetch from {host}: it is a loopback name; feeds are fetched from "
                "public addresses only (an operator can allow a network with "
                "FETCH_ALLOWED_NETWORKS)"
            )
        return
    try:
        address = _parse_ip(host)
    except ValueError:
        return  # a name
    why = refusal(address)
    if why:
        raise _refused(host, address, why)


class _CheckedConnectionMixin:
    """Resolve, check, then connect to the checked address (urllib3's ``_new_conn``, with the
    same exceptions). ``self.host`` keeps the name, for the Host header and TLS."""

    _dns_host: str
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = checked_addresses(self._dns_host, self.port)
            error: OSError | None = None
            for address in addresses:
                try:
                    sock = create_connection(
                        address,
                        self.timeout,
                        source_address=self.source_address,
                        socket_options=self.socket_options,
                    )
                    break
                except OSError as exc:
                    error = exc
            else:
                raise error or OSError(f"{self._dns_host} has no address")
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(
                self,  # type: ignore[arg-type]
                f"Failed to establish a new connection: {exc}",
            ) from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class PublicAddressAdapter(HTTPAdapter):
    """requests' transport adapter, with connections that only go to allowed addresses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise AddressRefused("feeds are not fetched through a proxy")


def public_session() -> requests.Session:
    """A requests session for http(s) URLs that connects to allowed addresses only."""
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment (see the module docstring)
    adapter = PublicAddressAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

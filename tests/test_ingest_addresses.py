"""No fetches into the private network: a Source URL (or ``manage.py ingest URL``) that points
at loopback, a private, link-local, multicast or otherwise non-public address is refused before
any connection, after name resolution and on every redirect, unless the operator allowed the
network (``FETCH_ALLOWED_NETWORKS``). The address checked is the address connected to."""

from __future__ import annotations

import io
import socket
import ssl

import pytest
import trustme
from django.core.management import CommandError, call_command
from django.urls import reverse

from digest.papers.ingest.addresses import public_session
from digest.papers.ingest.fetch import FetchError, fetch_url
from digest.papers.ingest.run import fetch_and_ingest
from digest.papers.models import Paper, Source
from tests.admin_support import make_curator
from tests.factories import SourceFactory
from tests.feedserver import Route, serve_feeds

pytestmark = pytest.mark.django_db

SECRET = b"internal-service-token=s3cr3t; this is not a feed"


@pytest.fixture
def private_server(settings, fixture_path, tmp_path):
    """The tests' feed server on loopback, standing for a service on the private network:
    loopback is *not* allowed."""
    settings.VAR_DIR = tmp_path
    with serve_feeds(settings, allow_loopback=False) as server:
        server.routes["/secret"] = Route(SECRET, content_type="text/plain")
        server.routes["/rss"] = Route(fixture_path("arxiv_rss_cs_multi.xml").read_bytes())
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_source_on_loopback_is_refused_before_connecting(private_server):
    source = SourceFactory(url=private_server.url("/secret"))

    outcome = fetch_and_ingest(source.pk)

    assert outcome.status == Source.Status.ERROR
    source.refresh_from_db()
    port = private_server.base_url.rsplit(":", 1)[1]
    assert source.last_error == (
        "refused to fetch from 127.0.0.1: 127.0.0.1 is a loopback address; feeds are fetched "
        "from public addresses only (an operator can allow a network with "
        "FETCH_ALLOWED_NETWORKS)"
    )
    assert "s3cr3t" not in source.last_error
    assert private_server.requests == []  # never connected
    assert port  # the port is not even part of the answer


def test_open_and_closed_ports_cannot_be_told_apart(private_server):
    open_source = SourceFactory(url=private_server.url("/rss"))
    closed_source = SourceFactory(url=f"http://127.0.0.1:{closed_port()}/rss")

    fetch_and_ingest(open_source.pk)
    fetch_and_ingest(closed_source.pk)

    open_source.refresh_from_db()
    closed_source.refresh_from_db()
    assert open_source.last_error == closed_source.last_error
    assert "loopback" in open_source.last_error
    assert Paper.objects.count() == 0


def test_a_name_that_resolves_to_loopback_is_refused(private_server):
    port = private_server.base_url.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as refused:
        fetch_url(f"http://localhost:{port}/rss")
    assert str(refused.value).startswith("refused to fetch from localhost: localhost resolves to ")
    assert "a loopback address" in str(refused.value)
    assert private_server.requests == []


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("172.16.5.4", "172.16.5.4 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),  # cloud metadata
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),  # carrier-grade NAT
        ("[::1]", "::1 is a loopback address"),
        ("[fe80::1]", "fe80::1 is a link-local address"),
        ("[fd00::1]", "fd00::1 is a private address"),
        ("[ff02::1]", "ff02::1 is a multicast address"),
        ("[::]", ":: is the unspecified address"),
        # IPv4 inside IPv6: mapped, 6to4, NAT64.
        ("[::ffff:127.0.0.1]", "(IPv4 127.0.0.1) is a loopback address"),
        ("[::ffff:10.0.0.1]", "(IPv4 10.0.0.1) is a private address"),
        ("[2002:a00:1::]", "2002:a00:1:: (IPv4 10.0.0.1) is a private address"),
        ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe (IPv4 169.254.169.254) is a link-local"),
    ],
)
def test_non_public_addresses_are_refused(host, why, settings):
    settings.FETCH_TIMEOUT = 2  # were anything to connect, the test would still end
    with pytest.raises(FetchError, match="^refused to fetch from ") as refused:
        fetch_url(f"http://{host}:8080/feed")
    assert why in str(refused.value)


def test_a_redirect_to_a_private_address_is_refused(private_server, settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the first hop is allowed
    settings.FETCH_TIMEOUT = 2
    private_server.routes["/moved"] = Route(
        b"moved", status=302, headers={"Location": "http://10.0.0.1/latest/meta-data/"}
    )
    source = SourceFactory(url=private_server.url("/moved"))

    fetch_and_ingest(source.pk)

    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR
    assert source.last_error.startswith(
        "refused to fetch from 10.0.0.1: 10.0.0.1 is a private address;"
    )
    assert [request.path for request in private_server.requests] == ["/moved"]


def test_a_redirect_to_another_loopback_port_is_refused(private_server, settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    private_server.routes["/moved"] = Route(
        b"", status=301, headers={"Location": f"http://[::1]:{closed_port()}/admin"}
    )
    with pytest.raises(FetchError, match=r"^refused to fetch from ::1: ::1 is a loopback"):
        fetch_url(private_server.url("/moved"))


def test_an_operator_can_allow_a_network(private_server, settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    source = SourceFactory(url=private_server.url("/rss"))
    assert fetch_and_ingest(source.pk).status == Source.Status.OK
    assert Paper.objects.count() == 4


@pytest.fixture
def rebinding_dns(monkeypatch):
    """``feeds.example`` answers 127.0.0.1 the first time it is looked up and 10.0.0.1 ever
    after, as a DNS server attacking a check-then-connect client would (a real rebinding DNS
    server is not cheap to run in a test; the look-ups are counted)."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "feeds.example":
            lookups.append(host)
            host = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_the_checked_address_is_the_one_connected_to(private_server, settings, rebinding_dns):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.FETCH_TIMEOUT = 2
    port = private_server.base_url.rsplit(":", 1)[1]

    fetched = fetch_url(f"http://feeds.example:{port}/rss")

    assert fetched.status_code == 200
    assert rebinding_dns == ["feeds.example"]  # one look-up: checked, then connected to
    (request,) = private_server.requests
    assert request.headers["Host"] == f"feeds.example:{port}"


@pytest.fixture
def certificate_authority(tmp_path):
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, str(bundle)


def tls_context(authority: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def test_tls_names_the_host_and_checks_its_certificate_at_the_checked_address(
    settings, certificate_authority, rebinding_dns
):
    authority, bundle = certificate_authority
    with serve_feeds(settings, tls=tls_context(authority, "feeds.example")) as server:
        settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        server.routes["/rss"] = Route(b"<rss/>")
        port = server.base_url.rsplit(":", 1)[1]
        with public_session() as session:
            response = session.get(f"https://feeds.example:{port}/rss", verify=bundle, timeout=5)
    assert (response.status_code, response.content) == (200, b"<rss/>")
    assert server.server_names == ["feeds.example"]  # SNI: the name, not the address
    assert rebinding_dns == ["feeds.example"]


def test_a_certificate_for_another_name_is_refused_at_the_checked_address(
    settings, certificate_authority, rebinding_dns
):
    authority, bundle = certificate_authority
    with serve_feeds(settings, tls=tls_context(authority, "other.example")) as server:
        settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        port = server.base_url.rsplit(":", 1)[1]
        with public_session() as session, pytest.raises(Exception, match="feeds.example"):
            session.get(f"https://feeds.example:{port}/rss", verify=bundle, timeout=5)
    assert server.requests == []


def test_the_ingest_command_refuses_a_private_url_and_ingests_the_rest(
    private_server, fixture_path
):
    out, err = io.StringIO(), io.StringIO()
    daily = str(fixture_path("hf_daily_papers_2026.json"))
    with pytest.raises(CommandError, match="1 of 2 inputs had errors"):
        call_command("ingest", private_server.url("/secret"), daily, stdout=out, stderr=err)
    assert err.getvalue().startswith(
        f"{private_server.url('/secret')}: refused to fetch from 127.0.0.1: 127.0.0.1 is a "
        "loopback address;"
    )
    assert "s3cr3t" not in err.getvalue()
    assert private_server.requests == []
    assert Paper.objects.count() == 3  # the daily papers file


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:6379/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::ffff:192.168.0.1]/feed", "(IPv4 192.168.0.1) is a private address"),
        ("http://localhost:8000/admin/", "localhost: it is a loopback name"),
        ("ftp://ftp.example.org/feed.xml", "only http and https URLs can be fetched"),
    ],
)
def test_the_admin_refuses_a_source_url_it_would_refuse_to_fetch(client, url, error):
    client.force_login(make_curator())
    response = client.post(
        reverse("admin:papers_source_add"),
        {"name": "probe", "kind": Source.Kind.FEED, "url": url, "enabled": "on"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["url"]
    assert any(error in message for message in errors), errors
    assert not Source.objects.filter(name="probe").exists()


def test_the_admin_accepts_an_allowed_network(client, settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    client.force_login(make_curator())
    for name, url in (("local", "http://127.0.0.1:8001/feed.xml"), ("named", "http://localhost/")):
        response = client.post(
            reverse("admin:papers_source_add"), {"name": name, "kind": Source.Kind.FEED, "url": url}
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
    assert Source.objects.count() == 2

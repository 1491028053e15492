"""Whose rate-limit budget a request counts against: forwarding headers are believed only
from trusted proxies, and then only the hop the first trusted proxy saw."""

from typing import Any

from cqrs_http.limits import TrustedProxies

PROXIES = TrustedProxies(["127.0.0.1", "::1", "10.1.0.0/16"])


def scope(peer: str, *headers: tuple[str, str]) -> Any:
    return {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }


def test_an_untrusted_peer_is_the_client_whatever_it_writes() -> None:
    spoofed = scope("203.0.113.9", ("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "5.6.7.8"))
    assert PROXIES.client_address(spoofed) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() -> None:
    # the client wrote "1.2.3.4, 6.6.6.6"; our gateway appended the address it saw
    forwarded = scope("127.0.0.1", ("x-forwarded-for", "1.2.3.4, 6.6.6.6, 198.51.100.7"))
    assert PROXIES.client_address(forwarded) == "198.51.100.7"


def test_trusted_hops_are_skipped_in_a_chain_of_proxies() -> None:
    chain = scope("10.1.2.3", ("x-forwarded-for", "9.9.9.9, 198.51.100.7, 10.1.9.9"))
    assert PROXIES.client_address(chain) == "198.51.100.7"


def test_a_trusted_proxy_with_only_x_real_ip() -> None:
    assert PROXIES.client_address(scope("::1", ("x-real-ip", "198.51.100.8"))) == "198.51.100.8"


def test_a_trusted_peer_without_forwarding_headers_is_itself() -> None:
    assert PROXIES.client_address(scope("127.0.0.1")) == "127.0.0.1"


def test_every_hop_trusted_falls_back_to_x_real_ip_then_the_peer() -> None:
    only_proxies = scope("127.0.0.1", ("x-forwarded-for", "10.1.0.5"))
    assert PROXIES.client_address(only_proxies) == "127.0.0.1"


def test_no_trusted_proxies_means_forwarding_headers_are_never_believed() -> None:
    nobody = TrustedProxies([])
    assert nobody.client_address(scope("127.0.0.1", ("x-forwarded-for", "1.2.3.4"))) == (
        "127.0.0.1"
    )

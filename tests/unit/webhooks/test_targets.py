"""Which webhook receivers are internal: refused unless `webhooks.allowed_hosts` names them."""

from ipaddress import ip_address

import pytest

from projector.webhooks.adapters.targets import ForbiddenTargetError, TargetPolicy

DEFAULT = TargetPolicy([])


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # this host: MariaDB, Redis, the read store
        "::1",
        "169.254.169.254",  # cloud metadata (link-local)
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.10",
        "fd00::1",  # unique local
        "224.0.0.1",  # multicast
        "0.0.0.0",  # unspecified
        "::ffff:127.0.0.1",  # loopback written as IPv6
    ],
)
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    assert not DEFAULT.allows("receiver.example", ip_address(address))


def test_a_public_address_is_allowed() -> None:
    assert DEFAULT.allows("receiver.example", ip_address("93.184.216.34"))


def test_allowed_hosts_name_hosts_addresses_and_ranges() -> None:
    policy = TargetPolicy(["hooks.internal", "127.0.0.1", "10.20.0.0/16"])
    assert policy.allows("HOOKS.internal.", ip_address("10.9.9.9"))
    assert policy.allows("x", ip_address("127.0.0.1"))
    assert policy.allows("x", ip_address("10.20.1.2"))
    assert not policy.allows("x", ip_address("10.21.1.2"))


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(ForbiddenTargetError, match="internal address"):
        await DEFAULT.check_url("http://localhost:6379/")


async def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(ForbiddenTargetError):
        await DEFAULT.check_url("http:///x")

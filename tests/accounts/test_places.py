"""Where an address is (issue 17 §2 "place from the address", accounts/security/places.py): the
vendored ip2region data read by bisection; private, documentation, IPv6 and bad addresses have no
place (the page shows the masked address instead)."""

from __future__ import annotations

import pytest

from accounts.security.places import region


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("58.60.1.20", "广东省 深圳市"),
        ("114.114.114.114", "江苏省 南京市"),
        ("202.106.0.20", "北京市"),  # a municipality is named once
        ("::ffff:223.5.5.5", "浙江省 杭州市"),  # IPv4-mapped IPv6
        ("8.8.8.8", "美国"),  # abroad: the country
        ("127.0.0.1", ""),
        ("10.1.2.3", ""),
        ("192.168.1.1", ""),
        ("203.0.113.7", ""),  # documentation range
        ("2001:db8::1", ""),  # IPv6: no data
        ("", ""),
        (None, ""),
        ("not an address", ""),
    ],
)
def test_region(address, place):
    assert region(address) == place

"""Where an address is, for the session list and the new-device notice (issue 17 §2: "place from
the address"; docs/account-security.md "Devices and places").

The data is ip2region's IPv4 database (vendored from npm by scripts/vendor_assets.py into
accounts/security/ip2region/, checked against its lock): an index of address ranges, each
pointing to "country|area|province|city|ISP" with 0 for unknown parts. The file is mapped once
per process (read-only, shared by the page cache) and searched by bisection: a lookup is about 20
reads, no query, no network. Names are in Chinese, as the database has them: on English pages
they are marked `lang="zh-Hans"` (proper names, like a person's). IPv6 addresses (other than
IPv4-mapped ones) have no region here: the page shows their /48 network only."""

from __future__ import annotations

import ipaddress
import mmap
import struct
from functools import lru_cache
from pathlib import Path

DATABASE = Path(__file__).resolve().parent / "ip2region" / "ip2region.db"
INDEX_BLOCK = 12  # start address, end address (little-endian u32), data pointer (u24 offset, u8 length)
UNKNOWN = "0"
PRIVATE = "内网IP"  # the database's word for private and loopback ranges


@lru_cache(maxsize=1)
def _database() -> tuple[mmap.mmap, int, int] | None:
    try:
        with DATABASE.open("rb") as file:
            data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    first, last = struct.unpack_from("<II", data, 0)
    return data, first, (last - first) // INDEX_BLOCK + 1


def _record(number: int) -> list[str] | None:
    database = _database()
    if database is None:
        return None
    data, first, count = database
    low, high = 0, count - 1
    while low <= high:
        middle = (low + high) // 2
        start, end, pointer = struct.unpack_from("<III", data, first + middle * INDEX_BLOCK)
        if number < start:
            high = middle - 1
        elif number > end:
            low = middle + 1
        else:
            length, offset = pointer >> 24, pointer & 0xFFFFFF
            return data[offset + 4 : offset + length].decode("utf-8", "replace").split("|")
    return None


def region(ip: str | None) -> str:
    """`广东省 深圳市`, `美国`; "" for a private or unknown address (the page shows the address)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is None:
            return ""
        address = address.ipv4_mapped
    if address.is_private or address.is_loopback:
        return ""
    fields = _record(int(address))
    if not fields or len(fields) < 4:
        return ""
    country, _area, province, city = (part if part != UNKNOWN else "" for part in fields[:4])
    if PRIVATE in (city, province, country):
        return ""
    if country != "中国":
        return country
    parts = []
    if province and not (city and city.startswith(province)):  # 北京 | 北京市: the city alone
        parts.append(province)
    if city:
        parts.append(city)
    return " ".join(parts) or country

"""A readable name for a browser from its User-Agent, and a coarse form of a client address
(docs/account-security.md, "Devices and places"). No dependency: a few ordered rules cover the
browsers and systems people use; anything else is "Unknown browser" / "unknown system".

The address is shown masked (IPv4: its last number hidden, `203.0.113.x`; IPv6: its /48,
`2001:db8:1::/48`), beside its region (accounts.security.places)."""

from __future__ import annotations

import ipaddress
import re

from django.utils.translation import gettext as _

# (pattern, name): the first match wins, so Edge and Opera come before Chrome, Chrome before Safari.
BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"MicroMessenger/"), "WeChat"),
    (re.compile(r"DingTalk/"), "DingTalk"),
    (re.compile(r"Lark/|Feishu/"), "Lark"),
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"UCBrowser/"), "UC Browser"),
    (re.compile(r"QQBrowser/"), "QQ Browser"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"HeadlessChrome/|Chromium/"), "Chromium"),
    (re.compile(r"Chrome/|CriOS/"), "Chrome"),
    (re.compile(r"Version/[\d.]+.*Safari/"), "Safari"),
)
SYSTEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"HarmonyOS|OpenHarmony"), "HarmonyOS"),
    (re.compile(r"iPhone"), "iPhone"),
    (re.compile(r"iPad"), "iPad"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux"), "Linux"),
)


def browser_name(user_agent: str) -> str:
    for pattern, name in BROWSERS:
        if pattern.search(user_agent or ""):
            return name
    return ""


def system_name(user_agent: str) -> str:
    for pattern, name in SYSTEMS:
        if pattern.search(user_agent or ""):
            return name
    return ""


def device_label(user_agent: str) -> str:
    """`Chrome on Windows`, `Safari on iPhone`; product names stay as they are in both languages."""
    browser = browser_name(user_agent)
    system = system_name(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s") % {"system": system}
    return _("Unknown device")


def coarse_address(ip: str | None) -> str:
    """`203.0.113.x` for IPv4, the /48 network for IPv6, "" when unknown."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".x"
    if address.ipv4_mapped is not None:
        return coarse_address(str(address.ipv4_mapped))
    return str(ipaddress.ip_network(f"{address}/48", strict=False))

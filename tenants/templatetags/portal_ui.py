"""Tags of the design system (UI-1, docs/frontend.md): `{% icon "users" %}` inlines one of the
vendored Tabler outline icons (static/vendor/tabler-icons/outline/, listed in
scripts/vendor_assets.py), decorative and hidden from screen readers; `{% nav_item %}` renders an
entry of the console's side navigation, marked `aria-current="page"` when it is the page shown."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ICON_NAME = re.compile(r"^[a-z0-9-]+$")


@cache
def _icon_svg(name: str) -> str:
    if not ICON_NAME.match(name):
        raise template.TemplateSyntaxError(f"bad icon name {name!r}")
    path = settings.BASE_DIR / "static" / "vendor" / "tabler-icons" / "outline" / f"{name}.svg"
    svg = " ".join(path.read_text().split())
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


@register.simple_tag
def icon(name: str) -> SafeString:
    """The SVG of a vendored outline icon (a missing one fails loudly in tests)."""
    return mark_safe(_icon_svg(name))  # noqa: S308 (a file of the vendored, hash-locked set)


@register.simple_tag(takes_context=True)
def nav_item(context: template.Context, url_name: str, label: str, icon_name: str, *also: str) -> SafeString:
    """A side-navigation link; current when the resolved view is `url_name` or one of `also`
    (the entry's detail and form pages)."""
    request = context.get("request")
    href = reverse(url_name)
    match = getattr(request, "resolver_match", None)
    current_name = getattr(match, "url_name", None)
    current = current_name is not None and (current_name == url_name or current_name in also)
    return format_html(
        '<a class="nav-link{}" href="{}"{}><span class="nav-link-icon">{}</span>'
        '<span class="nav-link-title">{}</span></a>',
        " active" if current else "",
        href,
        mark_safe(' aria-current="page"') if current else "",  # noqa: S308 (a constant)
        icon(icon_name),
        label,
    )


TILE_HTML = (
    '<li><a class="portal-tile{danger}" href="{href}"{tile_id}><span class="portal-tile-icon">{icon}</span>'
    '<span class="portal-tile-body"><span class="portal-tile-title">{title}{badge}</span>'
    '<span class="portal-tile-text">{text}</span></span></a></li>'
)


@register.simple_tag
def tile(
    href: str,
    icon_name: str,
    title: str,
    text: str,
    *,
    danger: bool = False,
    badge: int | None = None,
    badge_label: str = "",
    tile_id: str = "",
) -> SafeString:
    """An action tile of the self-service pages (issue 17 §1, docs/self-service.md): a link with
    an icon, a title and a line of text; `danger` for leaving and deleting, `badge` a count (its
    words for screen readers in `badge_label`). One string format (every value escaped), not an
    include: /me/ shows seven of them (PERF-7)."""
    badge_html = ""
    if badge:
        shown = "99+" if int(badge) > 99 else str(int(badge))
        badge_html = format_html(
            ' <span class="badge bg-red text-red-fg" aria-hidden="true">{}</span>'
            '<span class="visually-hidden"> ({})</span>',
            shown,
            badge_label,
        )
    return format_html(
        TILE_HTML,
        danger=" portal-tile-danger" if danger else "",
        href=href,
        tile_id=format_html(' id="{}"', tile_id) if tile_id else "",
        icon=icon(icon_name),
        title=title,
        badge=badge_html,
        text=text,
    )


# {% console_nav %}: the rendered side navigation by (language, categories, current view, URL conf,
# script prefix); a few dozen entries in practice, cleared past NAV_CACHE_SIZE
_NAV_CACHE: dict[tuple[Any, ...], SafeString] = {}
NAV_CACHE_SIZE = 512


class _NavRequest:
    """What the navigation's template may read of the request: the current view's name only."""

    def __init__(self, url_name: str | None) -> None:
        self.resolver_match = type("Match", (), {"url_name": url_name})()


class _NavScope:
    def __init__(self, categories: frozenset[str]) -> None:
        self.categories = categories


@register.simple_tag(takes_context=True)
def console_nav(context: template.Context) -> SafeString:
    """The console's grouped side navigation (UI-1), rendered from enterprise_data/_console_nav.html
    once per language × the admin's categories × current page and then kept in the process
    (PERF-3: ~40 template lookups, ~20 translations and 11 includes a page). The template sees
    only those three things, so nothing of one enterprise or reader can reach another's page."""
    scope = context.get("scope")
    categories = frozenset(getattr(scope, "categories", ()) or ())
    match = getattr(context.get("request"), "resolver_match", None)
    url_name = getattr(match, "url_name", None)
    key = (translation.get_language(), tuple(sorted(categories)), url_name, get_urlconf(), get_script_prefix())
    return _rendered_once(
        _NAV_CACHE,
        key,
        "enterprise_data/_console_nav.html",
        {"scope": _NavScope(categories), "request": _NavRequest(url_name)},
    )


def _rendered_once(
    store: dict[tuple[Any, ...], SafeString], key: tuple[Any, ...], name: str, context: dict
) -> SafeString:
    """`name` rendered with `context` the first time `key` is asked for, then kept in `store`
    (cleared past NAV_CACHE_SIZE entries)."""
    html = store.get(key)
    if html is None:
        html = mark_safe(render_to_string(name, context))  # noqa: S308 (a template render: escaped there)
        if len(store) >= NAV_CACHE_SIZE:
            store.clear()
        store[key] = html
    return html


# {% kept %}: static fragments rendered once per (template, language, URL conf, script prefix)
_KEPT: dict[tuple[Any, ...], SafeString] = {}


@register.simple_tag
def kept(template_name: str) -> SafeString:
    """A fragment that depends on nothing but the language and the URLs — translated words,
    `{% url %}` links without arguments, icons — rendered once and then kept in the process
    (PERF-7: /me/'s tiles, the header's language lists). Its template is rendered with an empty
    context, so nothing of a request, an enterprise or a reader can reach another's page."""
    key = (template_name, translation.get_language(), get_urlconf(), get_script_prefix())
    return _rendered_once(_KEPT, key, template_name, {})


@register.simple_tag(takes_context=True)
def chart(context: template.Context, spec: dict[str, Any], label: str, height: str = "md") -> SafeString:
    """A chart drawn by static/js/charts.js from `spec` (kind, x, series, suppressed; data only).
    The page loads the script with `{% block scripts %}{% include "charts_js.html" %}{% endblock %}`;
    the same figures are in a table on the page, so the chart is `role="img"` with a label."""
    counter = int(context.render_context.get("portal_chart_counter") or 0) + 1
    context.render_context["portal_chart_counter"] = counter
    element_id = f"chart-{counter}"
    return format_html(
        '<div class="portal-chart portal-chart-{}" role="img" aria-label="{}" data-chart="{}-data"></div>{}',
        height if height in {"sm", "md", "lg"} else "md",
        label,
        element_id,
        json_script(spec, f"{element_id}-data"),
    )


@register.filter
def first_letter(value: Any) -> str:
    """The first character of a name (the avatar of the enterprise switcher)."""
    text = str(value or "").strip()
    return text[:1].upper()

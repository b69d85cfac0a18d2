"""Access declarations (ENT-8, SEC-1; STYLE §3–4): every view and API on an enterprise host says
who may use it, and the base classes refuse a class that says nothing.

    access = SelfService()                                  a member, about their own data
    access = Read(Category.HEALTH)                          an admin holding the category; GET only
    access = Manage(Category.DIRECTORY)                     reads and writes within the admin's scope
    access = Manage(Category.ATTENDANCE, enterprise_wide=True)
                                                            reads within the scope; writes need the
                                                            category over the whole enterprise
    access = Account()                                      any signed-in account (no membership needed)
    access = Public()                                       anyone (sign-in, policy, notice)
    access = DeviceKey()                                    a registered device (`Authorization: Device …`)

`ConsoleView` and `EnterpriseApiView` (core) check the declaration in `as_view()` (a route to a class
without one fails when the URLs load) and enforce it on every request through `core.access.access_scope`,
the one place that decides; there is no other "can manage" check. Objects an admin names in a
request (ids in the path or the body) are then fetched through the scope (`AdminScope.member_for`,
`core.selectors`), so an id outside the scope answers exactly like a missing
one. docs/security.md, "Access declarations".

The vocabulary lives here, in the platform layer, because views of every layer declare their
access (sign-in and two-factor pages too); the decision for members and admins is in core.access."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ImproperlyConfigured

from tenants.categories import ANY_CATEGORY, Category

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


WRITE_HANDLERS = ("post", "put", "patch", "delete")


class Kind(StrEnum):
    SELF_SERVICE = "self-service"
    BY_METHOD = "by method"
    ADMIN = "admin"
    ACCOUNT = "account"
    PUBLIC = "public"
    DEVICE = "device"


class Need(StrEnum):
    SCOPE = "scope"  # the category anywhere in the admin's scope (objects then fetched through it)
    WHOLE = "whole"  # the category over the whole enterprise (enterprise-wide settings)


@dataclass(frozen=True)
class Access:
    kind: Kind
    category: str | None = None
    read: Need | None = None
    write: Need | None = None  # None: the class may not define post/put/patch/delete
    methods: tuple[tuple[str, Access], ...] = ()  # BY_METHOD: (handler name, its declaration)

    def need(self, method: str) -> Need | None:
        return self.read if method.upper() in SAFE_METHODS else self.write

    def for_method(self, method: str) -> Access | None:
        """The declaration that applies to one HTTP method (itself unless BY_METHOD)."""
        if self.kind != Kind.BY_METHOD:
            return self
        name = "get" if method.lower() in ("head", "options") else method.lower()
        return dict(self.methods).get(name)

    def __str__(self) -> str:
        if self.kind == Kind.BY_METHOD:
            return "; ".join(f"{method.upper()}: {access}" for method, access in self.methods)
        if self.kind != Kind.ADMIN:
            return str(self.kind)
        if self.write is None:
            return f"read {self.category}"
        return f"manage {self.category}" + (" (enterprise-wide)" if self.write == Need.WHOLE else "")


def SelfService() -> Access:  # noqa: N802 - reads as a declaration
    return Access(Kind.SELF_SERVICE)


def Account() -> Access:  # noqa: N802
    return Access(Kind.ACCOUNT)


def Public() -> Access:  # noqa: N802
    return Access(Kind.PUBLIC)


def DeviceKey() -> Access:  # noqa: N802
    return Access(Kind.DEVICE)


def _category(category: str) -> str:
    if category != ANY_CATEGORY and category not in Category.values:
        raise ImproperlyConfigured(f"Unknown data category {category!r}.")
    return category


def Read(category: str) -> Access:  # noqa: N802
    return Access(Kind.ADMIN, _category(category), read=Need.SCOPE)


def Manage(category: str, *, enterprise_wide: bool = False, form: bool = False) -> Access:  # noqa: N802
    """Reads need the category in the scope; writes need it too (enterprise-wide: over the whole
    enterprise). `form=True`: the page is the write's form, so its GET needs what the write needs."""
    if enterprise_wide and category == ANY_CATEGORY:
        raise ImproperlyConfigured("Enterprise-wide management needs a data category.")
    write = Need.WHOLE if enterprise_wide else Need.SCOPE
    return Access(Kind.ADMIN, _category(category), read=write if form else Need.SCOPE, write=write)


def ByMethod(**handlers: Access) -> Access:  # noqa: N802
    """One declaration per handler, for a URL that serves an admin read and a member's own write
    (e.g. health reports: GET for admins with the health category, POST a member's own report)."""
    if any(a.kind == Kind.BY_METHOD for a in handlers.values()):
        raise ImproperlyConfigured("ByMethod cannot nest.")
    return Access(Kind.BY_METHOD, methods=tuple(sorted(handlers.items())))


def declared_access(view_class: type, *, allowed: frozenset[Kind]) -> Access:
    """The class's declaration, checked: present, of a kind its base serves, and a read-only
    declaration on a class without write handlers. ImproperlyConfigured otherwise."""
    access = getattr(view_class, "access", None)
    name = view_class.__name__
    if not isinstance(access, Access):
        raise ImproperlyConfigured(
            f"{name} must declare its access (core.access: SelfService(), Read(category), Manage(category), …)."
        )
    handlers = [m for m in ("get", *WRITE_HANDLERS) if callable(getattr(view_class, m, None))]
    parts = dict(access.methods) if access.kind == Kind.BY_METHOD else {m: access for m in handlers}
    missing = [m for m in handlers if m not in parts]
    if missing:
        raise ImproperlyConfigured(f"{name} declares no access for {', '.join(missing)}.")
    for method, part in parts.items():
        if part.kind not in allowed:
            raise ImproperlyConfigured(f"{name}: {part} access is not served by this base class.")
        if part.kind == Kind.ADMIN and part.write is None and method in WRITE_HANDLERS:
            raise ImproperlyConfigured(f"{name} declares {part} but handles {method}: declare Manage.")
    return access

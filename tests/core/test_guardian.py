"""django-guardian object permissions on enterprise-schema objects (ENT-8 groundwork)."""

from __future__ import annotations

from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_perms

from core.models import Membership
from tenants.context import enterprise_schema


def test_object_permission_is_per_enterprise_even_with_colliding_ids(world):
    with enterprise_schema(world.acme):
        acme_bob = Membership.objects.get(account=world.bob)
        assign_perm("enterprise_data.change_membership", world.amy, acme_bob)
        assert ObjectPermissionChecker(world.amy).has_perm("change_membership", acme_bob)
        assert world.amy.has_perm("enterprise_data.change_membership", acme_bob)
    with enterprise_schema(world.globex):
        same_id = Membership.objects.get(pk=acme_bob.pk)  # a different person with the same id
        assert same_id.account_id != world.bob.pk
        assert get_perms(world.amy, same_id) == []
        assert not ObjectPermissionChecker(world.amy).has_perm("change_membership", same_id)

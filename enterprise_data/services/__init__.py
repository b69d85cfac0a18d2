"""Services for enterprise-schema data, one module per sub-domain. Every function takes the
enterprise explicitly and runs in its schema (tenants.context.enterprise_schema)."""

from enterprise_data.services.members import enterprise_refresh_member_count, membership_count, membership_create

__all__ = ["enterprise_refresh_member_count", "membership_count", "membership_create"]

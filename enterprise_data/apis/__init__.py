"""API views (`/api/v1/`), one module per sub-domain; every view derives from
tenants.apis.EnterpriseApiView (admin views declare their data category)."""

"""The enterprise's notice to its members (CON-3, CON-8): drafts, versions, acknowledgement."""

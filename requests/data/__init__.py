"""Everything held about a member or an account, page by page (DSR-2)."""

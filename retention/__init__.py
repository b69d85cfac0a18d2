"""Retention and erasure in one place (RET-1..RET-6, CON-6, DSR-5, DSR-6, TEN-4): periods and bounds
(low: bounds, models, selectors), the purge engine, erasure plans and primitives, the erasure steps
of withdrawal, leaving, account deletion and termination, the platform's own purge (high:
services, tasks, views, apis). It calls none of its callers (docs/architecture.md)."""

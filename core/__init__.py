"""Core of an enterprise's data (ENT-1, ENT-8, ENT-9, RET-6): members and their cards, the org models,
administrator scopes, per-member encryption, the access decision, the base views and API of
enterprise hosts, enterprise creation. Layer: just above accounts (docs/architecture.md)."""

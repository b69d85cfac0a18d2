"""The instruction ledger (ENT-10): append-only, hash-chained records of every processing an
administrator instructs; verification and export."""

"""URLs of the instruction ledger (ENT-10)."""

console_patterns: list = []
me_patterns: list = []
api_patterns: list = []
device_patterns: list = []

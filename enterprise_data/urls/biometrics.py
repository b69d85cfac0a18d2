"""URLs of the biometrics sub-domain. config/urls_tenants.py mounts console_patterns under /console/,
me_patterns under /me/, api_patterns under /api/v1/ and device_patterns under /api/device/v1/."""

console_patterns: list = []
me_patterns: list = []
api_patterns: list = []
device_patterns: list = []

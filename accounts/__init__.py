"""Platform accounts (ACC-1..ACC-3, ACC-5, ACC-6, SEC-2): registration with SMS codes, sign-in and
its throttling, the profile (accounts.profile), two-factor authentication (accounts.two_factor)."""

"""Account security (issue 17 §2; docs/account-security.md): password change and reset, signed-in
sessions, new-device notices, freezing, the e-mail address, security events."""

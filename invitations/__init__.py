"""Invitations by mobile number or link (ENT-3), and `/account/`, the account's home with its
pending invitations."""

"""Corrections (DSR-3): what a member changes directly, what goes to an administrator as a request."""

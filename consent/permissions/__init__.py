"""Device permissions an account grants the app (CON-5)."""

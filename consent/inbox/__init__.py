"""The in-app inbox and its SMS/e-mail copies (SEC-5)."""

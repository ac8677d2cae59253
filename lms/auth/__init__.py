"""Accounts: registration, login, email verification, password reset, roles (and `flask users`)."""

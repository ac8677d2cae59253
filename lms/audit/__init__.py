"""Audit trail: an append-only record of administrative actions."""

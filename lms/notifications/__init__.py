"""Notifications: in-app messages with an unread count in the header, email with one-click
unsubscribe, and each user's choice of which emails they get (see services.py)."""

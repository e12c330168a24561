"""Outgoing notifications (email over SMTP)."""

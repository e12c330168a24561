"""Fixtures for the control-plane database: every test using them runs on SQLite and PostgreSQL."""

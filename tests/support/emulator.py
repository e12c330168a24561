"""Fixtures for the AWS emulator (moto server over HTTP on loopback)."""

"""Shared helpers for Sparkify's integration tests (stdlib unittest, real clients on loopback)."""

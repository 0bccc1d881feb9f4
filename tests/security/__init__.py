"""Abuse cases and fuzzers: see docs/security.md for the threat model and the table."""

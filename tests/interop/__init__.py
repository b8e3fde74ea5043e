"""Interop tests against a real OpenClaw gateway (see scripts/setup-openclaw.sh)."""

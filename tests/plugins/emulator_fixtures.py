"""Fixtures: emulator."""

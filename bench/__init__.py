"""Benchmarks: scripts that print figures (run them by hand; tests never time anything)."""

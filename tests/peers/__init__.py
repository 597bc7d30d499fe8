"""Standalone SIP peers (separate processes) used by the integration tests and benchmarks."""

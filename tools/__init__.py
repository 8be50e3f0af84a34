"""Bench and QA tools: bench backend, fake modem, fault proxy, benchmarks, demo."""

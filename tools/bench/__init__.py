"""Benchmarks (`make bench`): each module here has `run(args) -> None` printing its own table."""

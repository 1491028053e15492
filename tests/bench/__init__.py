"""Benchmarks against baselines run in the same command (`just bench`); never pass/fail tests."""

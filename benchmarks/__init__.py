"""Benchmarks of our engine against micrograd, torch and numpy: run `python -m benchmarks.run`."""

"""Benchmarks of jaxsched against Optax and PyTorch: ``python -m benchmarks.run``."""

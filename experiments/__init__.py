"""Experiments built on jaxsched."""

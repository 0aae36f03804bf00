"""The spurious-correlation (simplicity bias) study.

ERM against group DRO under the seeds' schedules.
"""

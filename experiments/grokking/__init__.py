"""The grokking study: modular arithmetic under different LR schedules."""

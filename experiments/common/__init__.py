"""Pieces shared by the experiments: training loop helpers, checkpoints, sharding, outputs."""

"""The shapes model: training data, training, weights and evaluation of ``builtin:shapes-sd``."""

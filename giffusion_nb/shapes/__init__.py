"""The shapes model shipped as ``builtin:shapes-sd``: training data, training and evaluation."""

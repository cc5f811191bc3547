"""Rendering: the session, one prepared job, key-frame tensors and their slerp, per-frame inputs,
the run lifecycle and Ray workers."""

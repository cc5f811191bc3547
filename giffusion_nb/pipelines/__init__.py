"""Pipelines: loading (Hub ids, folders, built-in models), built-in models, noise schedulers and the
pipeline families."""

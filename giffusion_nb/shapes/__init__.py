"""A small Stable Diffusion model of coloured shapes: training data, training and evaluation."""

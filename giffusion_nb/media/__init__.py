"""Media inputs: image, video, audio and 2D motion."""

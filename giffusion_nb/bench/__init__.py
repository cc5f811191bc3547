"""`giffusion-nb bench`: speed of the session against a bare loop (speed), GIF fidelity against
a plain Pillow save (gif), and the evenness of even-paced travel (pacing)."""

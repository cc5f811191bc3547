"""Output files: GIF/MP4 encoders, frame writers and readers, run folders, Comet tracking, and
sending an output back as an input."""

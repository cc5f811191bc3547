"""Key frames as text and numbers (no torch): prompts, key-frame strings and their expressions,
interpolation schedules, the frame plan, inspiration."""

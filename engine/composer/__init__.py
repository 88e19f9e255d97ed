"""The built-in composer backend: symbolic parts per role from the musical context, rendered
with a small numpy synth. Needs no model weights; deterministic per seed."""

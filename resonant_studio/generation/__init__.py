"""Generation as plain functions: a session from a prompt or a preset configuration, the
generation plan (request + post-processing + what each take records), running a plan against a
backend and applying its parts to the session.

Both the CLI and the window go through this room, so they cannot drift apart.

May import: ``engine``, ``tracks``, ``resonant_studio.core``, ``resonant_studio.presets``.
Never Qt.
"""

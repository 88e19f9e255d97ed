"""The window: the Qt application, main window, menus (an action registry), the controller,
the engine thread, project files, docks, and the one helper for work off the UI thread.

The only room of ``resonant_studio`` that imports PySide6. May import every other room,
``widgets``, ``engine`` and ``tracks``.
"""

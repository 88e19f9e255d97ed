"""Presets in the window: the pickers in the prompt bar, resolving a generation, "Save as preset".

``PresetControls`` adds ``widgets.preset_pickers.PresetPickers`` to the prompt bar it is
handed, remembers the choice in the settings, reports broken user presets through the
notifier, puts "Save Style as Preset" in the registry's Edit menu, and gives the window
``resolve(prompt, seed, bars)`` (None when no preset is chosen, so the window generates as it
always did). It is handed everything it uses; it never reaches into the window.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit

from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import model_present
from resonant_studio.generation.preset_render import TAKE_PARAM_KEY
from resonant_studio.presets.resolve import DEFAULT_QUALITY, ResolvedConfig, resolve
from resonant_studio.presets.schema import TIER_ORDER, PresetError
from resonant_studio.presets.store import PresetLibrary, load_presets, save_user_preset, style_preset_from
from resonant_studio.core.settings import Settings
from resonant_studio.qt.menus import ActionRegistry
from resonant_studio.qt.notifier import Notifier
from tracks import Session
from widgets.preset_pickers import PresetPickers
from widgets.prompt_bar import PromptBar

SETTING_KEYS = {"style": "preset_style", "role": "preset_role", "quality": "preset_quality"}


class PresetControls(QObject):
    model_missing = Signal(str, str)
    """(model, tier): a tier whose model is not installed was chosen (the Models controller offers it)."""

    def __init__(self, prompt_bar: PromptBar, settings: Settings, notifier: Notifier, actions: ActionRegistry, *,
                 session: Callable[[], Session | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.prompt_bar = prompt_bar
        self.settings = settings
        self.notifier = notifier
        self._session = session
        self.library = PresetLibrary()
        self.pickers = PresetPickers()
        prompt_bar.add_picker(self.pickers)
        self.reload()
        self.pickers.select(style=settings.get(SETTING_KEYS["style"]), role=settings.get(SETTING_KEYS["role"]),
                            quality=settings.get(SETTING_KEYS["quality"]) or DEFAULT_QUALITY)
        self._quality = self.pickers.quality()
        self.pickers.changed.connect(self._remember)
        self.pickers.save_requested.connect(self.save_as_preset)
        actions.menus["edit"].addSeparator()
        self.save_action = actions.add("save_style_preset", "Save Style as &Preset…",
                                       "Save the current session's sound as a style preset of your own",
                                       self.save_as_preset, menu="edit")

    # --- library ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the presets again (after a save); each broken user preset is one message."""
        self.library = load_presets()
        qualities = self.library.of_kind("quality")
        qualities.sort(key=lambda q: (TIER_ORDER.index(q.name) if q.name in TIER_ORDER else len(TIER_ORDER), q.name))
        missing = [q.name for q in qualities
                   if q.data.get("engine") == "musicgen" and q.data.get("model") and not model_present(q.data["model"])]
        self.pickers.set_choices([(p.name, p.description) for p in self.library.of_kind("style")],
                                 [(p.name, p.description) for p in self.library.of_kind("role")],
                                 [(p.name, p.description) for p in qualities], missing)
        for problem in self.library.problems:
            self.notifier.error(f"skipped a user preset: {problem}")

    def clear_sticky(self) -> None:
        """Forget the style and role (New does this); the quality tier stays."""
        self.pickers.select(style=None, role=None, quality=self.pickers.quality())

    def _remember(self) -> None:
        for what, key in SETTING_KEYS.items():
            self.settings.set(key, getattr(self.pickers, what)())
        quality = self.pickers.quality()
        if quality != self._quality:
            self._quality = quality
            tier = self.library.presets.get(("quality", quality)) if quality else None
            model = tier.data.get("model") if tier is not None and tier.data.get("engine") == "musicgen" else None
            if model and not model_present(model):
                self.model_missing.emit(model, quality)

    # --- generation ---------------------------------------------------------------------------
    def active(self) -> bool:
        p = self.pickers
        return bool(p.style() or p.role() or (p.quality() and p.quality() != DEFAULT_QUALITY))

    def resolve(self, prompt: str, seed: int, bars: int | None = None) -> ResolvedConfig | None:
        """The configuration for a Generate, or None when no preset is chosen. Raises AppError."""
        if not self.active():
            return None
        p = self.pickers
        config = resolve(self.library, user_prompt=prompt, style=p.style(), role=p.role(), quality=p.quality(),
                         seed=seed, explicit={"bars": bars} if bars else None)
        config.check_model_available()
        chosen = [f"the {name} {what}" for what, name in (("style", p.style()), ("role", p.role())) if name]
        if chosen:  # never silent: the pickers persist across launches
            self.notifier.info(f"generating with {' and '.join(chosen)} preset (File > New clears them)")
        return config

    # --- save as preset -----------------------------------------------------------------------
    def save_as_preset(self) -> None:
        session = self._session()
        if session is None:
            self.notifier.error("nothing to save yet: generate something, then save its style as a preset")
            return
        name, ok = QInputDialog.getText(self.prompt_bar.window(), "Save as Preset",
                                        "Name of the new style preset (lower-case letters, digits, - and _):",
                                        QLineEdit.EchoMode.Normal, "")
        if not ok or not name.strip():
            return
        try:
            path = self.save_session_style(name.strip())
        except (PresetError, AppError, OSError) as exc:
            self.notifier.error(str(exc))
            return
        self.reload()
        self.pickers.select(style=name.strip(), role=self.pickers.role(), quality=self.pickers.quality())
        self.notifier.info(f"saved style preset {name.strip()} in {path}")

    def save_session_style(self, name: str):
        """Write the current session's sound as the user style preset ``name``; returns its path."""
        session = self._session()
        if session is None:
            raise AppError("nothing to save yet: generate something first")
        stored = next((take.params[TAKE_PARAM_KEY] for track in session.tracks for take in track.takes[::-1]
                       if TAKE_PARAM_KEY in take.params), None)
        user_prompt = stored["user_prompt"] if stored else (self.prompt_bar.prompt() or session.prompt)
        base_name = stored["style"] if stored else self.pickers.style()
        base = self.library.presets.get(("style", base_name)) if base_name else None
        generation = stored["generation"] if stored else None
        data = style_preset_from(session.context, user_prompt, base, generation,
                                 duration=session.duration)
        return save_user_preset("style", name, data)

"""The window's controller: one session, generation through the engine thread, the playback mix.

Generation goes through ``generation.plan``: the plan is made here on the UI thread (it reads
the session), ``run_plan`` runs on the engine thread (prompt reading, backend,
post-processing: one trip), ``apply_plan`` adds the takes here when the result arrives.
Every failure a person can cause ends as one sentence in the notifier.
Project files (open, save, autosave, recovery) live in ``project_files``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from engine.context import MusicalContext
from resonant_studio.qt.engine_thread import EngineThread
from resonant_studio.core.errors import AppError
from resonant_studio.qt.mix_renderer import MixRenderer, snapshot
from resonant_studio.qt.notifier import Notifier
from resonant_studio.qt.worker import USER_ERRORS, Worker, sentence
from resonant_studio.core.imports import PreparedImport, apply_import, prepare_import
from resonant_studio.core.playback import Player
from resonant_studio.generation import studio
from resonant_studio.generation.plan import (GenerationPlan, PromptReading, apply_plan, new_piece_session,
                                             plan_generation)
from resonant_studio.generation.preset_render import follow_preset_timing, preset_timing_offer, session_for_config
from resonant_studio.generation.section import Section
from tracks import Session, Take, Track

PlayerFactory = Callable[[int], Player]


@dataclass
class PendingJob:
    session: Session | None
    """The session the plan was made from (None: a new piece)."""
    plan: GenerationPlan
    offer: tuple[str, Any] | None = None
    """(what would change, the preset config) to ask about once the takes are in."""


class SessionController(QObject):
    session_changed = Signal(object)          # Session | None
    busy_changed = Signal(bool)
    generation_started = Signal(str)
    generation_progress = Signal(float, str)
    generation_applied = Signal(list)         # the new takes
    mix_changed = Signal()
    dirty_changed = Signal(bool)
    imported = Signal(object)                 # the Track an import made

    def __init__(self, notifier: Notifier, engine: EngineThread, *,
                 player_factory: PlayerFactory = Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.notifier = notifier
        self.engine = engine
        self._player_factory = player_factory
        self.player: Player = player_factory(44100)
        self.session: Session | None = None
        self.folder: Path | None = None
        self._dirty = False
        self.revision = 0  # counts document changes, so autosave knows what it has written
        self.reference: Any = None
        """Steering material from "Use as reference" (the library dock sets it); every request carries it."""
        self._jobs: dict[int, PendingJob] = {}
        self._kept_timing: set[str] = set()  # preset tempo/key changes the person declined, this session
        self._mix_scheduled = False
        self._mix_serial = 0
        self._mix_shown = 0
        self.mix_renderer = MixRenderer(self)
        self.import_worker = Worker("import", self)
        self.mix_renderer.ready.connect(self._on_mix_ready)
        self._bound_tracks: list[Track] = []
        engine.finished_job.connect(self._on_finished)
        engine.context_read.connect(self._on_context_read)
        engine.failed.connect(self._on_failed)
        engine.cancelled.connect(self._on_cancelled)
        engine.progress.connect(self._on_progress)

    # --- session --------------------------------------------------------------------------------
    def set_session(self, session: Session | None, folder: Path | None = None, *, dirty: bool = False) -> None:
        self._unbind()
        self.session = session
        self.folder = folder
        self._jobs.clear()  # answers for the previous session are dropped when they arrive
        self._kept_timing = set()
        if session is not None:
            if session.sample_rate != self.player.sample_rate:
                self.player.close()
                self.player = self._player_factory(session.sample_rate)
            session.history.changed.connect(self._on_history, max_args=0)
            session.track_added.connect(self._bind_track, max_args=1)
            session.track_removed.connect(self._unbind_track, max_args=1)
            session.context_changed.connect(self._on_document_changed, max_args=0)
            for t in session.tracks:
                self._bind_track(t)
        self.revision += 1
        self.set_dirty(dirty)
        self.session_changed.emit(session)
        self._refresh_mix()

    def _unbind(self) -> None:
        s = self.session
        if s is None:
            return
        s.history.changed.disconnect(self._on_history)
        s.track_added.disconnect(self._bind_track)
        s.track_removed.disconnect(self._unbind_track)
        s.context_changed.disconnect(self._on_document_changed)
        for t in list(self._bound_tracks):
            self._unbind_track(t)

    def _bind_track(self, track: Track, *_: Any) -> None:
        track.changed.connect(self._on_document_changed, max_args=0)
        self._bound_tracks.append(track)
        self._on_document_changed()

    def _unbind_track(self, track: Track, *_: Any) -> None:
        if track in self._bound_tracks:
            track.changed.disconnect(self._on_document_changed)
            self._bound_tracks.remove(track)
        self._on_document_changed()

    def _on_history(self) -> None:
        self.revision += 1
        self.set_dirty(True)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # --- the playback mix -------------------------------------------------------------------------
    def _on_document_changed(self, *_: Any) -> None:
        """Coalesce a burst of changes (a Generate adds several takes) into one re-mix."""
        if not self._mix_scheduled:
            self._mix_scheduled = True
            QTimer.singleShot(0, self._refresh_mix)

    @property
    def mix_pending(self) -> bool:
        """True between a document change and the moment its mix reaches the player."""
        return self._mix_scheduled or self._mix_shown != self._mix_serial

    def _refresh_mix(self) -> None:
        """Snapshot what is audible (cheap) and let the worker thread render it."""
        self._mix_scheduled = False
        self._mix_serial += 1
        self.mix_renderer.request(snapshot(self.session, self._mix_serial))

    def _on_mix_ready(self, serial: int, buffer: object) -> None:
        if serial != self._mix_serial:
            return  # a newer change is already being rendered
        self.player.swap(buffer)  # type: ignore[arg-type]
        self._mix_shown = serial
        self.mix_changed.emit()

    # --- generation -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def generate(self, prompt: str, *, engine: str = "composer", bars: int | None = None, seed: int = 0,
                 config: Any = None) -> int | None:
        """Fill every unlocked track. A first Generate (or a new prompt with nothing locked) starts
        a new piece from the prompt; otherwise the piece keeps its tempo and key so new parts fit.
        With a preset ``config`` (``ResolvedConfig``) its engine, seed, prompt and context are used.

        Reading a new prompt is engine work: the plan asks for it and the engine thread does it
        first, in the same trip as the generation."""
        try:
            if self._jobs:
                raise AppError("a generation is already running: wait for it or press Cancel")
            if config is not None:
                session, context, new = session_for_config(self.session, config)
                if new:
                    self.set_session(session, self.folder, dirty=True)
                studio.add_missing_parts(session)
                job_id = self._submit(session, plan_generation(session, config=config, context=context,
                                                               reference=self.reference))
                offer = None if new else preset_timing_offer(session, config)
                if offer and offer not in self._kept_timing:
                    self._jobs[job_id].offer = (offer, config)
                return job_id
            s = self.session
            fresh = s is None or not any(t.takes for t in s.tracks)
            if fresh and not prompt:
                raise AppError("write a prompt first: describe the music you want, then press Generate")
            text = prompt or (s.prompt if s is not None else "")
            changed = s is not None and ((prompt and prompt != s.prompt) or (bars is not None and bars != s.bars))
            reading = PromptReading(text, bars=bars)
            if fresh:
                plan = plan_generation(None, seed=seed, engine=engine, reading=reading, reference=self.reference)
                return self._submit(s, plan, new_piece=True)
            assert s is not None
            studio.add_missing_parts(s)  # a studio of locked imports: parts to fill around them
            if changed and not any(t.locked for t in s.tracks):
                plan = plan_generation(s, seed=seed, engine=engine, prompt=text, reading=reading,
                                       reference=self.reference, label="Generate")
            else:
                plan = plan_generation(s, seed=seed, engine=engine, prompt=text, reference=self.reference,
                                       label="Generate")
            return self._submit(s, plan)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return None

    def regenerate(self, track: Track, *, engine: str = "composer", seed: int | None = None) -> int | None:
        """Regenerate ``track`` alone, with every other track as context."""
        session = self.session
        if session is None or track not in session.tracks:
            return None
        if track.locked:
            self.notifier.error(f"{track.name} is locked: unlock it to regenerate it")
            return None
        try:
            if self._jobs:
                raise AppError("a generation is already running: wait for it or press Cancel")
            plan = plan_generation(session, [track], seed=seed, engine=engine, prompt=session.prompt,
                                   reference=self.reference, label=f"Regenerate {track.name}")
            return self._submit(session, plan)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return None

    def regenerate_section(self, tracks: list[Track], section: Section, *, engine: str = "composer",
                           seed: int | None = None) -> int | None:
        """New material for bars ``section`` of ``tracks`` (each a new take; the rest of each take
        kept sample for sample). Locked tracks are refused with a sentence."""
        session = self.session
        if session is None:
            return None
        locked = [t.name for t in tracks if t.locked]
        try:
            if locked:
                raise AppError(f"{locked[0]} is locked: unlock it to regenerate a section of it")
            if not tracks:
                raise AppError("every track is locked: unlock one to regenerate a section of it")
            if self._jobs:
                raise AppError("a generation is already running: wait for it or press Cancel")
            plan = plan_generation(session, tracks, seed=seed, engine=engine, prompt=session.prompt,
                                   reference=self.reference, section=section)
            return self._submit(session, plan)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return None

    def _submit(self, session: Session | None, plan: GenerationPlan, *, new_piece: bool = False) -> int:
        job_id = self.engine.submit_plan(plan)
        self._jobs[job_id] = PendingJob(None if new_piece else session, plan)
        names = ", ".join(p.name for p in plan.request.parts) or "every part"
        self.generation_started.emit(f"{plan.label}: {names} ({plan.engine}, seed {plan.seed})")
        self.busy_changed.emit(True)
        return job_id

    def cancel(self) -> None:
        self.engine.cancel()

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if job_id in self._jobs:
            self.generation_progress.emit(fraction, message)

    def _on_context_read(self, job_id: int, context: Any) -> None:
        """A new piece's prompt is read: show its empty lanes while its parts are generated."""
        job = self._jobs.get(job_id)
        if job is None or not job.plan.new_piece or job.session is not None:
            return
        job.session = new_piece_session(job.plan, context)
        self.set_session(job.session, self.folder, dirty=True)
        self._jobs[job_id] = job  # set_session drops answers for the previous session; keep this one

    def _on_finished(self, job_id: int, result: Any) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        self.busy_changed.emit(bool(self._jobs))
        if job.session is not None and job.session is not self.session:
            return  # another session was opened meanwhile
        try:
            session, takes = apply_plan(job.session, job.plan, result)
        except USER_ERRORS as exc:
            self.notifier.error(f"the new takes were not added: {exc}")
            return
        if session is not self.session:
            self.set_session(session, self.folder, dirty=True)
        self.notifier.info(f"{job.plan.label}: {len(takes)} new take{'s' if len(takes) != 1 else ''} "
                           f"(seed {job.plan.seed})")
        self.generation_applied.emit(takes)
        if job.offer is not None:
            self._offer_preset_timing(session, *job.offer)

    def _offer_preset_timing(self, session: Session, offer: str, config: Any) -> None:
        """Locked tracks play in the session's tempo and key: ask before following the preset's."""
        def keep() -> None:
            self._kept_timing.add(offer)

        def follow() -> None:
            if session is not self.session:
                return
            if self._jobs:
                self.notifier.error("a generation is running: wait for it, then Generate with the preset again")
                return
            try:
                follow_preset_timing(session, config)
            except USER_ERRORS as exc:
                self.notifier.error(str(exc))
                return
            self.notifier.info(f"the session follows the preset ({offer}); locked tracks fitted to it, "
                               "their originals kept as takes: Generate for parts in the new tempo and key")

        self.notifier.offer(f"the preset would change the {offer}; your locked tracks keep the session's",
                            [("Follow it and fit the locked tracks", follow), ("Keep the session's", keep)])

    def _on_failed(self, job_id: int, message: str) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self.busy_changed.emit(bool(self._jobs))
            self.notifier.error(message)

    def _on_cancelled(self, job_id: int) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self.busy_changed.emit(bool(self._jobs))
            self.notifier.info("generation cancelled: nothing changed")

    # --- editing ----------------------------------------------------------------------------------
    def undo(self) -> None:
        self._replay("undo")

    def redo(self) -> None:
        self._replay("redo")

    def _replay(self, which: str) -> None:
        if self.session is None:
            return
        try:
            getattr(self.session.history, which)()
        except USER_ERRORS as exc:
            self.notifier.error(f"cannot {which}: {exc}")

    def import_audio(self, paths: list[str]) -> None:
        """Each file is read, listened to and fitted to the session on the files worker, then
        lands as a locked track (``imported`` says so); an unreadable one gets a sentence."""
        for path in paths:
            self._import_one(Path(path))

    def _import_one(self, path: Path) -> None:
        s = self.session
        context = MusicalContext.from_dict(s.context) if s is not None else None
        rate = s.sample_rate if s is not None else 44100
        self.import_worker.submit(lambda _t: prepare_import(path, context, sample_rate=rate),
                                  done=lambda prepared: self._apply_import(s, prepared),
                                  failed=lambda exc: self.notifier.error(sentence(exc), topic="import"))
        self.notifier.info(f"listening to {path.name}…")

    def _apply_import(self, session: Session | None, prepared: PreparedImport) -> None:
        if session is not self.session:  # another session meanwhile: fit it to that one instead
            self._import_one(Path(prepared.path))
            return
        try:
            new_session, track = apply_import(session, prepared)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc), topic="import")
            return
        if new_session is not self.session:
            self.set_session(new_session, None, dirty=True)
        f = prepared.original_features
        tempo = f"{f.tempo:.0f} bpm" if f.tempo else "no clear tempo"
        self.notifier.info(f"imported {Path(prepared.path).name} as a locked {track.role} track ({tempo}, "
                           f"{f.key_name}); its original is take 1", topic="import")
        self.imported.emit(track)

    def shutdown(self) -> None:
        self.engine.cancel()
        self.import_worker.shutdown(timeout=10.0)
        self.mix_renderer.stop()
        self.player.close()

"""The one seam every generation goes through: plan, run, apply.

``plan_generation`` reads the session (on the caller's thread: the UI thread in the window)
and decides everything: the request, the post-processing, and what each take records.
``run_plan`` is pure compute (prompt reading when the plan asks for it, the backend, the
post-processing) and runs anywhere: on the engine thread in the window, inline in the CLI.
``apply_plan`` adds its parts to the session as one undoable step (or makes the session, for
a new piece). The CLI and the window share these three, so they cannot drift apart, and a
fresh Generate makes exactly one trip to the engine thread: the prompt is read there, at the
start of ``run_plan``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from engine.backends import (CancelCallback, GeneratedPart, GenerationRequest, PartSpec, ProgressCallback,
                             get_backend)
from engine.context import MusicalContext
from engine.prompt import analyze_prompt
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import default_engine_options
from resonant_studio.generation import studio
from resonant_studio.generation import postprocess
from resonant_studio.generation.postprocess import REPORT_KEY, TAKE_PARAM_KEY, postprocess_request
from resonant_studio.generation.section import (CONTINUING_ENGINES, SECTION_KEY, Section, SectionEdit,
                                                continuation_request, place, splice, splice_notes)
from resonant_studio.presets.resolve import ResolvedConfig
from tracks import Session, Take, Track


@dataclass(frozen=True)
class PromptReading:
    """A prompt to read into a context before the request is made (engine work: it loads the
    prompt reader's tables on first use)."""

    prompt: str
    bars: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class GenerationPlan:
    engine: str
    seed: int
    prompt: str
    label: str
    request: GenerationRequest
    """For a plan with a ``reading``, its context and (for a new piece) parts are filled in by
    ``run_plan`` once the prompt is read."""
    target_ids: tuple[str, ...] = ()
    """The tracks that receive the takes, in ``request.parts`` order; empty for a new piece."""
    reading: PromptReading | None = None
    new_piece: bool = False
    """True: ``apply_plan`` makes a new session from the read context (one track per role)."""
    postprocess: Mapping[str, Any] | None = None
    """A ``postprocess_request`` decision (preset length, loop seam, level), or None."""
    take_params: Mapping[str, Any] = field(default_factory=dict)
    """Recorded in every take: engine, sampling parameters, the resolved preset configuration."""
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    session_name: str | None = None
    sections: tuple[SectionEdit, ...] = ()
    """For a section regeneration: each target's current take and the range that is replaced."""
    section_continues: bool = False
    """True: the request asks for the section's bars only, continuing the audio before them
    (``section.continuation_request``); each part is placed at the section's start."""


@dataclass(frozen=True)
class PlanResult:
    parts: tuple[GeneratedPart, ...]
    context: MusicalContext
    """The context the parts were made for (the read one, for a plan with a reading)."""


def plan_generation(session: Session | None, targets: Sequence[Track] | None = None, *, seed: int | None = None,
                    engine: str = "composer", prompt: str | None = None, config: ResolvedConfig | None = None,
                    reference: Any = None, context: MusicalContext | None = None,
                    reading: PromptReading | None = None, params: Mapping[str, Any] | None = None,
                    engine_options: Mapping[str, Any] | None = None, label: str | None = None,
                    sample_rate: int | None = None, name: str | None = None,
                    section: Section | None = None) -> GenerationPlan:
    """Decide a generation. ``session`` None (with a ``reading``) plans a new piece.

    ``targets`` default to every unlocked track; with a preset ``config`` its engine, seed,
    prompt, context and engine options are used unless given here.
    """
    if config is not None:
        engine = config.engine
        seed = config.seed if seed is None else seed
        prompt = config.prompt if prompt is None else prompt
        context = config.context if context is None else context
        engine_options = config.engine_options() if engine_options is None else engine_options
    seed = studio.new_seed() if seed is None else int(seed)
    if engine_options is None:
        engine_options = default_engine_options(engine)
    run_params = {**(dict(config.generation_params) if config is not None else {}), **dict(params or {})}
    take_params: dict[str, Any] = {"engine": engine, **run_params}
    if session is None:
        if reading is None:
            raise AppError("nothing to generate: write a prompt first")
        text = reading.prompt if prompt is None else prompt
        request = GenerationRequest(context=MusicalContext(), parts=(), seed=seed,
                                    sample_rate=sample_rate or studio.DEFAULT_SAMPLE_RATE, prompt=text,
                                    params=run_params, reference=reference)
        return GenerationPlan(engine=engine, seed=seed, prompt=text, label=label or "Generate", request=request,
                              reading=reading, new_piece=True, take_params=take_params,
                              engine_options=dict(engine_options or {}), session_name=name)
    chosen = list(targets) if targets is not None else studio.default_targets(session)
    if config is not None and session.context == config.session_context():
        take_params[TAKE_PARAM_KEY] = config.to_dict()
        spec = postprocess_request(session, chosen, config)
    else:
        spec = postprocess_request(session, chosen, None)
    request = studio.build_request(session, chosen, seed, prompt=prompt, params=run_params, reference=reference,
                                   context=context)
    edits = _section_edits(session, chosen, section) if section is not None else ()
    continues = bool(edits) and engine in CONTINUING_ENGINES
    if continues:
        assert section is not None
        request = continuation_request(request, section, edits)
    if label is None:
        what = ", ".join(t.name for t in chosen) if section is not None else chosen[0].name
        label = (f"Regenerate Bars {section.first}-{section.last} of {what}" if section is not None
                 else "Generate" if len(chosen) > 1 or targets is None else f"Regenerate {what}")
    return GenerationPlan(engine=engine, seed=seed, prompt=request.prompt, label=label, request=request,
                          target_ids=tuple(t.id for t in chosen), reading=reading, postprocess=spec,
                          take_params=take_params, engine_options=dict(engine_options or {}), sections=edits,
                          section_continues=continues)


def _section_edits(session: Session, targets: Sequence[Track], section: Section) -> tuple[SectionEdit, ...]:
    section.check(session.bars)
    per_bar = session.beats_per_bar
    seconds_per_bar = per_bar * 60.0 / session.tempo
    start_s, end_s = section.seconds(seconds_per_bar)
    start = int(round(start_s * session.sample_rate))
    end = min(session.num_samples, int(round(end_s * session.sample_rate)))
    edits = []
    for t in targets:
        take = t.active_take
        if take is None:
            raise AppError(f"{t.name} has no take yet: generate it before regenerating a section of it")
        if take.num_samples != session.num_samples:
            raise AppError(f"{t.name}'s take is not as long as the piece: regenerate the whole track instead")
        edits.append(SectionEdit(t.id, take.id, take.audio, take.notes, start, end,
                                 (section.first - 1) * per_bar, section.last * per_bar))
    return tuple(edits)


def new_piece_session(plan: GenerationPlan, context: MusicalContext) -> Session:
    """The session a new-piece plan fills: the read context, one empty track per role."""
    return studio.new_session(plan.reading.prompt if plan.reading else plan.prompt, context=context,
                              sample_rate=plan.request.sample_rate, name=plan.session_name)


def run_plan(plan: GenerationPlan, backend: Any = None, *, progress: ProgressCallback | None = None,
             cancel: CancelCallback | None = None,
             context_read: Callable[[MusicalContext], None] | None = None) -> PlanResult:
    """Read the prompt if asked, run the backend, post-process. Touches no session: any thread.

    ``context_read`` hears the read context before the backend starts (the window shows the
    new piece's empty lanes while it is being generated)."""
    request = plan.request
    if plan.reading is not None:
        r = plan.reading
        ctx = analyze_prompt(r.prompt, bars=r.bars, seconds=r.seconds)
        if plan.new_piece:
            parts = tuple(PartSpec(name=studio.TRACK_NAMES.get(role, role.title()), role=role, prompt=request.prompt)
                          for role in ctx.roles)
            request = replace(request, context=ctx, parts=parts)
        else:
            request = replace(request, context=ctx)
        if context_read is not None:
            context_read(ctx)
    if backend is None:
        backend = get_backend(plan.engine, **dict(plan.engine_options))
    parts = list(backend.generate(request, progress=progress, cancel=cancel))
    if plan.section_continues:  # the section's bars alone: into the old take at the section's start
        parts = [replace(p, audio=place(e.audio, p.audio, e.start, e.end)) for p, e in zip(parts, plan.sections)]
    if plan.postprocess:
        parts, report = postprocess.run_postprocess(plan.postprocess, parts, request.sample_rate)
        parts = [replace(p, params={**dict(p.params), REPORT_KEY: report}) for p in parts]
    if plan.sections:
        parts = [_spliced(part, edit, request.sample_rate) for part, edit in zip(parts, plan.sections)]
    return PlanResult(tuple(parts), request.context)


def _spliced(part: GeneratedPart, edit: SectionEdit, sample_rate: int) -> GeneratedPart:
    audio = splice(edit.audio, part.audio, edit.start, edit.end, sample_rate)
    notes = splice_notes(edit.notes, part.notes, edit.start_beat, edit.end_beat)
    record = {"seconds": [edit.start / sample_rate, edit.end / sample_rate],
              "beats": [edit.start_beat, edit.end_beat], "replaces": edit.take_id}
    return replace(part, audio=audio, notes=notes, params={**dict(part.params), SECTION_KEY: record})


def apply_plan(session: Session | None, plan: GenerationPlan, result: PlanResult) -> tuple[Session, list[Take]]:
    """Add one take per part as one undoable step; a new piece gets its session first (unless
    ``session`` is the one ``new_piece_session`` already made for it).

    Returns the session the takes went to and the takes. Nothing is replaced.
    """
    if plan.new_piece:
        if session is None:
            session = new_piece_session(plan, result.context)
        targets = list(session.tracks)
    else:
        if session is None:
            raise AppError("the session this generation was for is gone")
        by_id = {t.id: t for t in session.tracks}
        missing = [tid for tid in plan.target_ids if tid not in by_id]
        if missing:
            raise AppError("a track this generation was for has been removed")
        targets = [by_id[tid] for tid in plan.target_ids]
        for t in targets:
            if t.locked:
                raise AppError(f"{t.name} was locked while generating: its new take was not added")
    if len(result.parts) != len(targets):
        raise AppError(f"the {plan.engine} engine returned {len(result.parts)} parts for {len(targets)} tracks")
    with session.history.group(plan.label):
        if plan.reading is not None and not plan.new_piece:
            session.prompt = plan.reading.prompt
            session.context = result.context.to_dict()
        takes = studio.apply_results(session, targets, result.parts, plan.engine, plan.seed, plan.prompt,
                                     label=plan.label, extra_params=plan.take_params)
    return session, takes


def generate(session: Session | None, targets: Sequence[Track] | None = None, *,
             progress: ProgressCallback | None = None, cancel: CancelCallback | None = None,
             **plan_options: Any) -> tuple[Session, list[Take]]:
    """Plan, run and apply in one go (the CLI's path)."""
    plan = plan_generation(session, targets, **plan_options)
    result = run_plan(plan, progress=progress, cancel=cancel)
    return apply_plan(session, plan, result)

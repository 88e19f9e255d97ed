"""The one export orchestrator, for the CLI and the window: the mix, the stems, the MIDI file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracks import Session
from tracks.errors import ExportError
from tracks.export import export_mix, export_stems
from tracks.export_choices import ExportChoices
from tracks.midi import export_midi


@dataclass(frozen=True)
class Exported:
    mix: Path | None
    stems: tuple[Path, ...] = ()
    midi: Path | None = None
    notes: tuple[str, ...] = field(default=())
    """What the exporter did that a person should know (gain held back, a quiet stem...)."""

    @property
    def written(self) -> list[Path]:
        return [p for p in (self.mix, *self.stems, self.midi) if p is not None]


def has_notes(session: Session) -> bool:
    return any(t.active_take is not None and t.active_take.is_symbolic for t in session.tracks)


def existing_targets(choices: ExportChoices) -> list[Path]:
    """What an export with ``choices`` would overwrite: the mix, the MIDI file, a stems folder
    that already has files (to ask first)."""
    folder = choices.folder
    found = []
    if choices.mix and (folder / f"{choices.name}.{choices.format}").exists():
        found.append(folder / f"{choices.name}.{choices.format}")
    stems = folder / f"{choices.name}-stems"
    if choices.stems and stems.is_dir() and any(stems.iterdir()):
        found.append(stems)
    if choices.midi and (folder / f"{choices.name}.mid").exists():
        found.append(folder / f"{choices.name}.mid")
    return found


def run_export(session: Session, choices: ExportChoices) -> Exported:
    """Write what ``choices`` asks for into ``choices.folder`` (made if missing).

    Raises ExportError (or OSError) with nothing of the failing part written.
    """
    if not (choices.mix or choices.stems or choices.midi):
        raise ExportError("nothing to export: tick the mix, the stems or MIDI")
    folder = choices.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot export to {folder}: {(exc.strerror or str(exc)).lower()}") from exc
    if not folder.is_dir():
        raise ExportError(f"cannot export to {folder}: it is not a folder")
    notes: list[str] = []
    options = dict(bit_depth=choices.bit_depth, target_lufs=choices.target_lufs)
    mix = None
    stems: tuple[Path, ...] = ()
    if choices.mix:
        result = export_mix(session, folder / f"{choices.name}.{choices.format}", format=choices.format, **options)
        mix = result.path
        notes.extend(result.notes)
    if choices.stems:
        stems_folder = folder / f"{choices.name}-stems"
        try:
            stems_folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create {stems_folder}: {exc.strerror or exc}") from exc
        result = export_stems(session, stems_folder, format=choices.format, **options)
        stems = tuple(result.paths)
        if not choices.mix:
            notes.extend(result.notes)
    midi = export_midi(session, folder / f"{choices.name}.mid") if choices.midi else None
    return Exported(mix, stems, midi, tuple(notes))

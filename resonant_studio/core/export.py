"""Writes what the Export dialog asked for: the mix, the stems, the MIDI file."""

from __future__ import annotations

from pathlib import Path

from tracks import Session
from tracks.errors import ExportError
from tracks.export import export_mix, export_stems
from tracks.midi import export_midi
from tracks.export_choices import ExportChoices


def has_notes(session: Session) -> bool:
    return any(t.active_take is not None and t.active_take.is_symbolic for t in session.tracks)


def run_export(session: Session, choices: ExportChoices) -> tuple[list[Path], list[str]]:
    """Returns the files written and the notes the exporter made (gain changes and the like).

    Raises ExportError (or OSError) with nothing of the failing part written.
    """
    if not (choices.mix or choices.stems or choices.midi):
        raise ExportError("nothing to export: tick the mix, the stems or MIDI")
    folder = choices.folder
    if not folder.is_dir():
        raise ExportError(f"cannot export to {folder}: the folder does not exist")
    written: list[Path] = []
    notes: list[str] = []
    options = dict(bit_depth=choices.bit_depth, target_lufs=choices.target_lufs)
    if choices.mix:
        result = export_mix(session, folder / f"{choices.name}.{choices.format}", format=choices.format, **options)
        written.extend(result.paths)
        notes.extend(result.notes)
    if choices.stems:
        stems_folder = folder / f"{choices.name}-stems"
        try:
            stems_folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create {stems_folder}: {exc.strerror or exc}") from exc
        result = export_stems(session, stems_folder, format=choices.format, **options)
        written.extend(result.paths)
        if not choices.mix:
            notes.extend(result.notes)
    if choices.midi:
        written.append(export_midi(session, folder / f"{choices.name}.mid"))
    return written, notes

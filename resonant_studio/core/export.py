"""The one export orchestrator, for the CLI and the window: the mix, the stems, the MIDI file."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tracks import Session
from tracks.errors import ExportError
from tracks.export import commit_staged, stage_export
from tracks.file_set import FileSet
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


def run_export(session: Session, choices: ExportChoices, *,
               before_commit: Callable[[], object] | None = None) -> Exported:
    """Write what ``choices`` asks for into ``choices.folder`` (made if missing).

    The mix and the stems are written under temporary names and renamed into place together;
    ``before_commit`` (the CLI's render saves its project there) runs between the two, and if
    it fails nothing of the export is left. Raises ExportError (or OSError) with nothing of
    the failing part written.
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
    mix_path = folder / f"{choices.name}.{choices.format}" if choices.mix else None
    stems_dir = folder / f"{choices.name}-stems" if choices.stems else None
    result = None
    if mix_path is not None or stems_dir is not None:
        files = FileSet()
        result, made = stage_export(files, session, mix_path=mix_path, stems_dir=stems_dir, format=choices.format,
                                    bit_depth=choices.bit_depth, target_lufs=choices.target_lufs)
        try:
            if before_commit is not None:
                before_commit()
            commit_staged(files)
        except BaseException:
            files.discard()
            if made is not None:
                with suppress(OSError):
                    made.rmdir()
            raise
    elif before_commit is not None:
        before_commit()
    paths = tuple(result.paths) if result is not None else ()
    mix = paths[0] if mix_path is not None else None
    stems = paths[1:] if mix_path is not None else paths
    midi = export_midi(session, folder / f"{choices.name}.mid") if choices.midi else None
    return Exported(mix, tuple(stems), midi, tuple(result.notes) if result is not None else ())

"""Read the files of a dataset from a folder or straight from a zip archive, and ``DataError``."""
from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from types import TracebackType


class DataError(ValueError):
    """A dataset file or folder that cannot be read; the message names the file at fault."""


class FileSource:
    """Read-only view of every regular file under a folder or inside a zip archive.

    Files are named by their path relative to the folder (or archive root), with ``/``
    separators, so callers treat both kinds the same way. Symbolic links to folders and
    files are followed (a dataset often lives elsewhere), each folder once, so a link cycle
    ends. Use it as a context manager.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            return
        if not self.path.exists():
            raise DataError(f"{self.path}: no such file or folder")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"{self.path}: neither a folder nor a readable zip archive "
                            f"({exc})") from exc

    def names(self) -> list[str]:
        """Relative paths of all regular files, sorted."""
        if self._zip is not None:
            return sorted(info.filename for info in self._zip.infolist() if not info.is_dir())
        names, seen = [], set()
        for folder, subfolders, files in os.walk(self.path, followlinks=True):
            stat = os.stat(folder)
            if (stat.st_dev, stat.st_ino) in seen:
                subfolders.clear()  # reached again through a link: already listed
                continue
            seen.add((stat.st_dev, stat.st_ino))
            relative = Path(folder).relative_to(self.path)
            names += [(relative / file).as_posix() for file in files
                      if (Path(folder) / file).is_file()]
        return sorted(names)

    def read(self, name: str) -> bytes:
        """The bytes of one file; a damaged member or unreadable file raises ``DataError``."""
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise DataError(f"{self.where(name)}: cannot be read ({exc})") from exc

    def where(self, name: str) -> str:
        """Where a file lives, for error messages: ``folder/name`` or ``archive.zip:name``."""
        if self._zip is not None:
            return f"{self.path}:{name}"
        return str(self.path / name)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

"""Safe access to the files of a bundle: a directory or a ``.zip``.

Every container-level check happens in :func:`open_bundle`, before any content is read: member
count, names (no absolute paths, no ``..``, no backslashes), no symlinks or encrypted members,
per-file and total uncompressed size caps, and a compression-ratio guard against zip bombs. Reads
are bounded again while decompressing, so a lying zip header cannot exceed the caps.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bench.errors import ValidationError
from submissions.limits import BundleLimits

_CHUNK = 1024 * 1024
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Entry:
    """One top-level file of a bundle."""

    name: str
    """File name inside the bundle (a wrapping top-level folder of a zip is stripped)."""
    size: int
    """Uncompressed size in bytes (as declared; reads are capped again)."""


class BundleSource(ABC):
    """Read-only view of a bundle's top-level files."""

    def __init__(self, path: Path, entries: dict[str, Entry], limits: BundleLimits) -> None:
        self.path = path
        self.entries = entries
        self.limits = limits

    def location(self, name: str) -> str:
        """How messages name a member: ``bundle.zip:pose2text.jsonl`` or ``dir/pose2text.jsonl``."""
        return f"{self.path}:{name}" if self.path.suffix == ".zip" else str(self.path / name)

    @abstractmethod
    def read(self, name: str) -> bytes:
        """The bytes of member ``name``, at most ``limits.max_file_bytes`` (ValidationError beyond)."""

    def close(self) -> None:
        """Release the underlying file handle, if any."""

    def __enter__(self) -> BundleSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DirectorySource(BundleSource):
    """A bundle that is a plain directory."""

    def read(self, name: str) -> bytes:
        with open(self.path / name, "rb") as handle:
            data = handle.read(self.limits.max_file_bytes + 1)
        if len(data) > self.limits.max_file_bytes:
            raise ValidationError(f"file larger than {self.limits.max_file_bytes} bytes", file=self.location(name))
        return data


class ZipSource(BundleSource):
    """A bundle that is a ``.zip`` archive."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], limits: BundleLimits):
        super().__init__(path, {name: Entry(name, info.file_size) for name, info in members.items()}, limits)
        self._archive = archive
        self._members = members

    def read(self, name: str) -> bytes:
        info = self._members[name]
        cap = min(info.file_size, self.limits.max_file_bytes)
        chunks, total = [], 0
        try:
            with self._archive.open(info) as handle:
                while chunk := handle.read(_CHUNK):
                    total += len(chunk)
                    if total > cap:
                        raise ValidationError(
                            "member decompresses to more bytes than its header declares or the size cap allows",
                            file=self.location(name),
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise ValidationError(f"corrupt zip member ({exc})", file=self.location(name)) from None
        return b"".join(chunks)

    def close(self) -> None:
        self._archive.close()


def open_bundle(path: str | Path, limits: BundleLimits) -> BundleSource:
    """Open a bundle directory or zip after the container-level safety checks (ValidationError)."""
    path = Path(path)
    if path.is_symlink():
        raise ValidationError("bundle path is a symlink; pass the real directory or zip", file=path)
    if path.is_dir():
        return _open_directory(path, limits)
    if not path.exists():
        raise ValidationError("bundle not found (expected a directory or a .zip file)", file=path)
    if path.suffix.lower() != ".zip":
        raise ValidationError("a bundle is a directory or a file ending in .zip", file=path)
    return _open_zip(path, limits)


def _open_directory(path: Path, limits: BundleLimits) -> DirectorySource:
    children = sorted(path.iterdir())
    if len(children) > limits.max_members:
        raise ValidationError(f"{len(children)} entries; a bundle holds at most {limits.max_members}", file=path)
    entries: dict[str, Entry] = {}
    total = 0
    for child in children:
        mode = child.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise ValidationError("symlinks are not allowed in a bundle", file=child)
        if stat.S_ISDIR(mode):
            raise ValidationError("a directory where a bundle file is expected (bundles are flat)", file=child)
        if not stat.S_ISREG(mode):
            raise ValidationError("not a regular file", file=child)
        size = child.stat().st_size
        _check_size(size, total, limits, str(child))
        total += size
        entries[child.name] = Entry(child.name, size)
    return DirectorySource(path, entries, limits)


def _open_zip(path: Path, limits: BundleLimits) -> ZipSource:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"not a valid zip archive ({exc})", file=path) from None
    try:
        return ZipSource(path, archive, check_members(path, archive.infolist(), limits), limits)
    except BaseException:
        archive.close()
        raise


def check_members(path: Path, infos: list[zipfile.ZipInfo], limits: BundleLimits) -> dict[str, zipfile.ZipInfo]:
    """Validate every member and return the files keyed by their top-level name."""
    if len(infos) > limits.max_members:
        raise ValidationError(f"{len(infos)} zip members; a bundle holds at most {limits.max_members}", file=path)
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    total = 0
    for info in infos:
        name = info.filename
        where = f"{path}:{name}"
        if "\\" in name or "\x00" in name:
            raise ValidationError("member name contains a backslash or NUL byte", file=where)
        if name.startswith("/") or _DRIVE_RE.match(name):
            raise ValidationError("absolute member path", file=where)
        if ".." in PurePosixPath(name).parts:
            raise ValidationError("member path contains '..'", file=where)
        if name in seen:
            raise ValidationError("duplicate member name", file=where)
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ValidationError("symlink member", file=where)
        if info.flag_bits & 0x1:
            raise ValidationError("encrypted member", file=where)
        if info.is_dir():
            continue
        _check_size(info.file_size, total, limits, where)
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_min_bytes and ratio > limits.max_compression_ratio:
            raise ValidationError(
                f"compression ratio {ratio:.0f}:1 exceeds {limits.max_compression_ratio:.0f}:1 (zip bomb guard)",
                file=where,
            )
        files.append(info)
    return _strip_wrapper(path, files, [i.filename.rstrip("/") for i in infos if i.is_dir()])


def _strip_wrapper(path: Path, files: list[zipfile.ZipInfo], dirs: list[str]) -> dict[str, zipfile.ZipInfo]:
    """Key files by top-level name, dropping one folder that wraps everything (``zip -r b.zip b/``)."""
    parts = [PurePosixPath(i.filename).parts for i in files]
    prefix = parts[0][0] if parts and all(len(p) > 1 and p[0] == parts[0][0] for p in parts) else None
    depth = 1 if prefix is not None else 0
    for directory in dirs:
        dir_parts = PurePosixPath(directory).parts
        if len(dir_parts) > depth or (depth == 1 and dir_parts[0] != prefix):
            raise ValidationError("a directory where a bundle file is expected (bundles are flat)",
                                  file=f"{path}:{directory}/")  # fmt: skip
    members: dict[str, zipfile.ZipInfo] = {}
    for info, p in zip(files, parts, strict=True):
        if len(p) != depth + 1:
            raise ValidationError("nested member path; bundle files sit at the top level",
                                  file=f"{path}:{info.filename}")  # fmt: skip
        members[p[-1]] = info
    return members


def _check_size(size: int, total_before: int, limits: BundleLimits, where: str) -> None:
    if size > limits.max_file_bytes:
        raise ValidationError(f"{size} bytes exceeds the per-file cap of {limits.max_file_bytes} bytes", file=where)
    if total_before + size > limits.max_total_bytes:
        raise ValidationError(f"bundle exceeds the total size cap of {limits.max_total_bytes} bytes", file=where)

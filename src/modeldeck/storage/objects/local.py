"""Objects as read-only files under a local folder.

Layout: ``<root>/ab/cdef…`` (the first two hex characters name the folder), and temporaries
in ``<root>/tmp/``. An object is written to a temporary file while it is hashed, fsynced, then
published with a hard link, which fails rather than overwrite: identical bytes are stored
once and an existing object is never rewritten.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from modeldeck.core.errors import IntegrityError, InvalidInput, NotFound
from modeldeck.core.hashing import (
    CHUNK_SIZE,
    HashingReader,
    copy_hashing,
    corrupt_object,
    is_digest,
    sha256_bytes,
)
from modeldeck.storage.objects.base import ObjectInfo, check_digest
from modeldeck.storage.objects.manifest import (
    Manifest,
    decode_manifest,
)
from modeldeck.storage.objects.tree import store_tree, tree_targets, write_verified

# errno values by which a filesystem says it has no hard links; os.replace is used there.
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}
)
_HEX = frozenset("0123456789abcdef")


class LocalObjectStore:
    """A content-addressed object store in a local folder (see the module docstring).

    The constructor touches nothing; the folder is created on the first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    # -- writing ---------------------------------------------------------------------------

    def put_file(self, path: Path) -> ObjectInfo:
        path = Path(path)
        try:
            f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            raise NotFound(f"no such file: {path}") from None
        except IsADirectoryError:
            raise InvalidInput(f"{path} is a folder; store it with put_dir") from None
        with f:
            return self.put_stream(f)

    def put_bytes(self, data: bytes) -> ObjectInfo:
        digest = sha256_bytes(data)
        if self._path(digest).is_file():
            return ObjectInfo(digest, len(data))
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, stream: BinaryIO) -> ObjectInfo:
        """Store everything left in ``stream``; the stream is read to its end, not closed."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = copy_hashing(stream, out)
                out.flush()
                os.fsync(out.fileno())
            self._publish(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return ObjectInfo(digest, size)

    def put_dir(self, path: Path) -> ObjectInfo:
        """Store every regular file under ``path``, then a manifest; return the manifest's digest.

        A symlink to a file is stored as the content of the file it points to (its mode comes
        from that file); symlinked folders are skipped, so a link cannot pull in a tree outside
        ``path`` or loop. Empty folders, fifos, sockets and devices are skipped too.
        """
        return store_tree(Path(path), self.put_file, self.put_bytes)

    def _publish(self, tmp: Path, digest: str) -> None:
        final = self._path(digest)
        folder = final.parent
        new_folder = not folder.is_dir()
        folder.mkdir(exist_ok=True)
        # Read-only before it is visible, so no one ever sees a writable object.
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return  # the same bytes are already stored; leave them alone
        except OSError as e:
            if e.errno not in _NO_HARD_LINKS:
                raise
            if final.exists():
                return
            os.replace(tmp, final)
        _fsync_dir(folder)
        if new_folder:
            _fsync_dir(self.root)

    # -- reading ---------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return self._path(check_digest(digest)).is_file()

    def size(self, digest: str) -> int:
        path = self._path(check_digest(digest))
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise _not_found(digest) from None

    def open(self, digest: str) -> BinaryIO:
        """A reader that raises IntegrityError if the bytes read to the end are corrupt."""
        raw = self.open_unverified(digest)
        return io.BufferedReader(HashingReader(raw, digest), CHUNK_SIZE)

    def read_bytes(self, digest: str) -> bytes:
        """The whole object in memory, verified; for small objects such as manifests."""
        with self.open_unverified(digest) as f:
            data = f.read()
        actual = sha256_bytes(data)
        if actual != digest:
            raise corrupt_object(digest, actual)
        return data

    def get_file(self, digest: str, dest: Path) -> Path:
        """Copy the object to ``dest`` atomically (temp file + rename beside it), verified."""
        dest = Path(dest)
        self._materialise(digest, dest, 0o666)
        return dest

    def read_manifest(self, digest: str) -> Manifest:
        return decode_manifest(self.read_bytes(digest), digest)

    def get_dir(self, digest: str, dest: Path) -> Path:
        """Recreate the folder of manifest ``digest`` under ``dest``.

        Each file lands atomically, but the folder as a whole does not: on an error, files
        already written stay. Paths that would land outside ``dest`` raise InvalidInput.
        """
        for rel, entry, target, mode in tree_targets(digest, self.read_manifest(digest), dest):
            if self.size(entry.digest) != entry.size:
                raise IntegrityError(f"manifest {digest}: size of {rel!r} does not match")
            self._materialise(entry.digest, target, mode)
        return Path(dest)

    def _materialise(self, digest: str, dest: Path, mode: int) -> None:
        if dest.is_dir():
            raise InvalidInput(f"{dest} is a folder; give the path of the file to write")
        with self.open_unverified(digest) as src:
            write_verified(src, digest, dest, mode)

    def open_unverified(self, digest: str) -> BinaryIO:
        """The stored bytes as they are, for a reader that checks them itself (the server
        passing them to a remote client, which hashes what it receives)."""
        path = self._path(check_digest(digest))
        try:
            return open(path, "rb", buffering=0)
        except FileNotFoundError:
            raise _not_found(digest) from None

    # -- housekeeping ----------------------------------------------------------------------

    def delete(self, digest: str) -> None:
        path = self._path(check_digest(digest))
        try:
            path.unlink()
        except FileNotFoundError:
            raise _not_found(digest) from None
        _fsync_dir(path.parent)

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest, in no particular order; ``tmp/`` and strays are ignored."""
        try:
            folders = list(os.scandir(self.root))
        except FileNotFoundError:
            return
        for folder in folders:
            if len(folder.name) != 2 or not set(folder.name) <= _HEX or not folder.is_dir():
                continue
            with os.scandir(folder.path) as files:
                for f in files:
                    digest = folder.name + f.name
                    if is_digest(digest) and f.is_file(follow_symlinks=False):
                        yield digest

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]


def _not_found(digest: str) -> NotFound:
    return NotFound(f"object {digest} not found")


def _fsync_dir(path: Path) -> None:
    """Make a new or removed directory entry durable (POSIX; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

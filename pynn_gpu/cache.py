"""
Content-hash cache of compiled code.

The key is a hash of the generated source, the compiler command line and the compiler's
version, so building the same network twice compiles once. Entries are written to a
temporary file and renamed into place, so several processes may build the same network
at the same time: each rename is atomic and every reader sees a complete file.

Beside each entry, <entry>.sha256 holds a hash of its content, written after it and
checked before it is used: a file cut short or damaged on disk (which a dynamic loader
would map and crash on), or one without its hash, is built again.
"""

import hashlib
import os
import tempfile
from pathlib import Path

ENV_VAR = "PYNN_GPU_CACHE_DIR"


def cache_dir() -> Path:
    """$PYNN_GPU_CACHE_DIR (~ expanded), else $XDG_CACHE_HOME/pynn_gpu, else
    ~/.cache/pynn_gpu; made if absent."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        path, origin = Path(os.path.expanduser(configured)), f"${ENV_VAR}"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path, origin = Path(base) / "pynn_gpu", f"the default (set ${ENV_VAR} to change it)"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(error.errno, f"the compile cache directory {str(path)!r}, from {origin}, "
                                   f"cannot be made: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"the compile cache directory {str(path)!r}, from {origin}, is "
                              "not writable")
    return path


def content_key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


class EmptyBuild(RuntimeError):
    """A build that reported success and wrote nothing."""


def _content_hash(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _intact(entry: Path, hash_file: Path) -> bool:
    try:
        return hash_file.read_text().strip() == _content_hash(entry)
    except FileNotFoundError:
        return False


def _write_atomically(path: Path, text: str):
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def cached_build(key: str, suffix: str, build) -> Path:
    """
    Return the path of the cache entry `key`; call `build(output_path)` to make it if absent
    or damaged.

    `build` writes the artefact to the path it is given (a temporary name in the cache
    directory); the file is then renamed to its final name. EmptyBuild if it wrote nothing.
    """
    final = cache_dir() / f"{key}{suffix}"
    hash_file = final.with_name(final.name + ".sha256")
    if _intact(final, hash_file):
        return final
    fd, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    try:
        build(Path(temporary))
        if os.path.getsize(temporary) == 0:
            raise EmptyBuild(f"the build of {final.name} reported success but wrote nothing "
                             "(is the compiler ($CC, $PYNN_GPU_NVCC) a real one?)")
        content_hash = _content_hash(temporary)
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    # written after the entry: a reader that finds the hash finds the entry complete
    # (processes building the same entry at once may pair one's hash with another's
    # entry; the next reader then builds it again)
    _write_atomically(hash_file, content_hash)
    return final

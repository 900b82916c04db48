"""
Content-hash cache of compiled code.

The key is a hash of the generated source, the compiler command line and the compiler's
version, so building the same network twice compiles once. Entries are written to a
temporary file and renamed into place, so several processes may build the same network
at the same time: each rename is atomic and every reader sees a complete file.
"""

import hashlib
import os
import tempfile
from pathlib import Path

ENV_VAR = "PYNN_GPU_CACHE_DIR"


def cache_dir() -> Path:
    """$PYNN_GPU_CACHE_DIR, else $XDG_CACHE_HOME/pynn_gpu, else ~/.cache/pynn_gpu."""
    if os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "pynn_gpu"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def cached_build(key: str, suffix: str, build) -> Path:
    """
    Return the path of the cache entry `key`; call `build(output_path)` to make it if absent.

    `build` writes the artefact to the path it is given (a temporary name in the cache
    directory); the file is then renamed to its final name.
    """
    final = cache_dir() / f"{key}{suffix}"
    if final.exists():
        return final
    fd, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    try:
        build(Path(temporary))
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return final

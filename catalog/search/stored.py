"""The built index kept on disk, so a process loads it instead of building it (seconds at national size).

A file holds one index and says which catalogue it was built from (the database, the catalogue version and
when it was set, the number of products) and by which code (a hash of the `catalog` package's source and
data files). `load` returns None, and the caller builds afresh, when the file is missing, was built from
another catalogue or by other code, or does not verify (its checksum is stored in its header): a stale or
damaged file is never used. `save` writes a temporary file beside it and renames it over the old one, so a
reader sees the old file or the new one, never half of one.

The payload is a pickle, which can run code when loaded: the file lives beside the SQLite database or in the
user's own cache directory (`index_path`), written with owner-only permissions, where only someone who could
already change the database or the program could change it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import sys
import tempfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from catalog.lexicon import default_lexicon
from catalog.search.index import SearchIndex
from catalog.search.memory import gc_paused

log = logging.getLogger(__name__)

MAGIC = b"OCOP-SEARCH-INDEX\n"
FORMAT = 2
CATALOG_PACKAGE = Path(__file__).resolve().parent.parent  # catalog/


@dataclass(frozen=True)
class IndexKey:
    """Which catalogue an index was built from."""

    database: str  # the database URL, password hidden
    version: int  # catalog_state.version
    updated_at: str  # catalog_state.updated_at: a database recreated from scratch starts at version 1 again
    products: int


@cache
def code_fingerprint() -> str:
    """A hash of everything the index's contents depend on: the catalog package's code and data, Python."""
    h = hashlib.sha256(f"{FORMAT} {sys.version} {pickle.HIGHEST_PROTOCOL}".encode())
    files = sorted(
        p for p in CATALOG_PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".json", ".txt", ".csv")
    )
    for path in files:
        if "migrations" in path.parts:
            continue
        h.update(str(path.relative_to(CATALOG_PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def index_path(database_url: str) -> Path | None:
    """Where the index of this database is kept: beside a SQLite file, else in the user's cache directory
    (one file per database); None for an in-memory database. OCOP_SEARCH_INDEX_DIR overrides the place."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    override = os.environ.get("OCOP_SEARCH_INDEX_DIR")
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return None
        if not override:
            db_file = Path(database).expanduser()
            return db_file.with_name(db_file.name + ".search-index")
    base = Path(override) if override else Path(user_cache_dir("ocop-bot", appauthor=False))
    return base / f"search-index-{name}.pickle"


class _Pickler(pickle.Pickler):
    """Pickles an index with its shared objects shared again when loaded.

    Pickle writes every int and float out in full, so a loaded index would hold one object per occurrence
    where the built one shares a few: the product numbers (one int per product, in millions of postings) and
    the field weights (a handful of floats). That made a loaded index at 100,000 products ≈50% bigger than
    a built one. So they are written as references into a table (the program's lexicon, the product numbers
    0…n-1, every distinct float) that the loader builds once; the table's floats are stored before the
    index. The lexicon is the program's own (its data is in the code fingerprint) and is not copied.
    """

    def __init__(self, file: io.BytesIO, products: int) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.products = products
        self.floats: dict[float, int] = {}
        self.lexicon = default_lexicon()

    def persistent_id(self, obj: Any) -> int | None:
        kind = type(obj)
        if kind is int:
            return 1 + obj if 256 < obj < self.products else None  # small ints are shared by Python anyway
        if kind is float and obj == obj and (obj or str(obj) == "0.0"):  # NaN and -0.0 as they are
            at = self.floats.get(obj)
            if at is None:
                at = self.floats[obj] = len(self.floats)
            return 1 + self.products + at
        if obj is self.lexicon:
            return 0
        return None


def dumps(index: SearchIndex) -> bytes:
    """The index as bytes: a small pickle of the shared table (products, floats), then the index itself."""
    body = io.BytesIO()
    pickler = _Pickler(body, len(index.docs))
    pickler.dump(index)
    floats = sorted(pickler.floats, key=pickler.floats.__getitem__)
    head = pickle.dumps((len(index.docs), floats), protocol=pickle.HIGHEST_PROTOCOL)
    return head + body.getvalue()


def loads(payload: bytes) -> Any:
    stream = io.BytesIO(payload)
    products, floats = pickle.Unpickler(stream).load()
    table = [default_lexicon(), *range(products), *floats]
    unpickler = pickle.Unpickler(stream)
    unpickler.persistent_load = table.__getitem__  # type: ignore[assignment]  # a C call per reference
    return unpickler.load()


def save(index: SearchIndex, path: Path, key: IndexKey) -> None:
    """Write `index` to `path` atomically, labelled with `key` and the code fingerprint."""
    payload = dumps(index)
    header = {
        "format": FORMAT,
        "code": code_fingerprint(),
        "key": asdict(key),
        "length": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp: readable and writable by the owner only
            fh.write(MAGIC)
            fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, key: IndexKey) -> SearchIndex | None:
    """The index stored at `path` if it was built from this catalogue by this code and verifies; else None."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                return _stale(path, "not an index file")
            header = json.loads(fh.readline())
            if header.get("format") != FORMAT or header.get("code") != code_fingerprint():
                return _stale(path, "built by other code")
            if header.get("key") != asdict(key):
                return _stale(path, "built from another catalogue version")
            payload = fh.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return _stale(path, f"unreadable ({exc})")
    if len(payload) != header.get("length") or hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        return _stale(path, "damaged")
    try:
        with gc_paused():  # collecting while loading doubles the time
            index = loads(payload)
    except Exception as exc:  # a verified file that still does not load: rebuild rather than fail
        return _stale(path, f"does not load ({exc!r})")
    if not isinstance(index, SearchIndex):
        return _stale(path, "holds something else")
    return index


def _stale(path: Path, why: str) -> None:
    log.info("search index at %s not used: %s", path, why)
    return None

"""Labelled image sets: a ``manifest.csv`` (the waste-v1 format), a plain folder, or a zip.

A manifest row that points to a missing file or names an unknown label is skipped and
counted, never fatal: the caller prints ``SampleSet.skipped`` so nothing vanishes silently.
A zip holds a ``manifest.csv`` at its root next to the images, which makes one file that
is easy to move to a training machine (``binwatch data pack``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from binwatch.datasets import taxonomy
from binwatch.datasets.images import IMAGE_SUFFIXES, ImageDecodeError, decode_image

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = (
    "path",
    "category",
    "item",
    "source",
    "source_class",
    "width",
    "height",
    "sha256",
    "orig_path",
    "orig_sha256",
    "group",
)


class DatasetError(ValueError):
    """A data set cannot be used at all (as opposed to a row that is skipped)."""


@dataclass(frozen=True)
class Sample:
    path: str
    category: str
    item: str | None = None
    group: str = ""
    source: str = ""


class ImageStore:
    """Reads image bytes by relative path from a folder or a zip file."""

    def __init__(self, location: Path):
        self.location = location
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid = 0
        self._names: frozenset[str] | None = None

    @property
    def is_zip(self) -> bool:
        return self.location.is_file()

    def _archive(self) -> zipfile.ZipFile:
        # One handle per process: a handle inherited through fork shares its file offset
        # with the parent, and DataLoader workers reading at once would corrupt each other.
        if self._zip is None or self._zip_pid != os.getpid():
            try:
                self._zip = zipfile.ZipFile(self.location)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DatasetError(f"{self.location}: not a readable zip ({exc})") from None
            self._zip_pid = os.getpid()
        return self._zip

    def __getstate__(self) -> dict:
        return {"location": self.location, "_zip": None, "_zip_pid": 0, "_names": None}

    def exists(self, path: str) -> bool:
        if self.is_zip:
            if self._names is None:
                self._names = frozenset(self._archive().namelist())
            return path in self._names
        return (self.location / path).is_file()

    def read_bytes(self, path: str) -> bytes:
        if self.is_zip:
            try:
                return self._archive().read(path)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged member: bad CRC, cut short
                raise ImageDecodeError(f"{self.location}/{path}: damaged in the zip ({exc})") from None
        return (self.location / path).read_bytes()

    def read_rgb(self, path: str):
        name = f"{self.location}/{path}" if self.is_zip else str(self.location / path)
        return decode_image(self.read_bytes(path), name)


class MergedStore:
    """Several stores behind one, addressed as ``<name>/<path>``."""

    def __init__(self, stores: dict[str, ImageStore | MergedStore]):
        self.stores = stores
        self.location: Path = Path("+".join(str(s.location) for s in stores.values()))

    def _route(self, path: str) -> tuple[ImageStore | MergedStore, str]:
        name, _, rest = path.partition("/")
        return self.stores[name], rest

    def exists(self, path: str) -> bool:
        store, rest = self._route(path)
        return store.exists(rest)

    def read_bytes(self, path: str) -> bytes:
        store, rest = self._route(path)
        return store.read_bytes(rest)

    def read_rgb(self, path: str):
        store, rest = self._route(path)
        return store.read_rgb(rest)


@dataclass
class SampleSet:
    samples: list[Sample]
    store: ImageStore | MergedStore
    skipped: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.samples)

    def subset(self, samples: list[Sample]) -> SampleSet:
        return SampleSet(samples, self.store, Counter())

    def describe_skips(self) -> str:
        return ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"


def load(location: str | Path) -> SampleSet:
    """Open a manifest file, a folder (with or without ``manifest.csv``) or a zip."""
    location = Path(location)
    if not location.exists():
        raise DatasetError(f"{location}: no such file or folder")
    if location.is_file() and location.suffix == ".zip":
        store = ImageStore(location)
        try:
            data = store.read_bytes(MANIFEST_NAME)
        except KeyError:
            raise DatasetError(f"{location}: zip has no {MANIFEST_NAME} at its root") from None
        except ImageDecodeError as exc:
            raise DatasetError(str(exc)) from None
        return _from_manifest_text(_text(data, f"{location}/{MANIFEST_NAME}"), store, str(location))
    if location.is_file():
        text = _text(location.read_bytes(), str(location))
        return _from_manifest_text(text, ImageStore(location.parent), str(location))
    if (location / MANIFEST_NAME).is_file():
        return load(location / MANIFEST_NAME)
    return _from_folder(location)


def _text(data: bytes, name: str) -> str:
    """A manifest's text: UTF-8, with or without the byte-order mark that spreadsheet programs write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None


def _from_manifest_text(text: str, store: ImageStore, name: str) -> SampleSet:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"path", "category", "item"} - set(reader.fieldnames or ())
    if missing:
        raise DatasetError(f"{name}: manifest lacks column(s) {', '.join(sorted(missing))}")
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for row in reader:
        if None in (row["path"], row["category"], row["item"]):  # fewer fields than the header
            skipped["short row"] += 1
            continue
        category, item = _key(row["category"], item=False), _key(row["item"], item=True) or None
        if category not in taxonomy.CATEGORY_KEYS:
            skipped["unknown category"] += 1
            continue
        if item is not None:
            if item not in taxonomy.ITEM_KEYS:
                skipped["unknown item"] += 1
                continue
            if taxonomy.category_of(item) != category:
                skipped["item/category mismatch"] += 1
                continue
        if not store.exists(row["path"]):
            skipped["missing file"] += 1
            continue
        group = row.get("group") or row["path"]
        samples.append(Sample(row["path"], category, item, group, row.get("source", "")))
    if not samples:
        raise DatasetError(f"{name}: no usable rows (skipped: {dict(skipped) or 'none'})")
    return SampleSet(samples, store, skipped)


def _key(label: str, item: bool) -> str:
    """A manifest's category or item as its key, also when written as its Chinese or English name."""
    category, item_key = taxonomy.label_named(label) or (None, None)
    if item and item_key is not None:
        return item_key
    if not item and category is not None and item_key is None:
        return category
    return label.strip()


def _from_folder(root: Path) -> SampleSet:
    """``root/<item or category>/*.jpg``, the folder named by the key or the Chinese or English name
    (``plastic_bottle``, ``塑料瓶``, ``Kitchen waste``); a category folder gives samples without an item."""
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        label = taxonomy.label_named(label_dir.name)
        if label is None:
            skipped["unknown label folder"] += sum(1 for _ in _image_files(label_dir))
            continue
        category, item = label
        for file in _image_files(label_dir):
            rel = file.relative_to(root).as_posix()
            samples.append(Sample(rel, category, item, rel, "folder"))
    if not samples:
        raise DatasetError(f"{root}: no images found; expected {root}/<item or category>/*.jpg or a {MANIFEST_NAME}")
    return SampleSet(samples, ImageStore(root), skipped)


def _image_files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def merge(named: dict[str, SampleSet]) -> SampleSet:
    """One set from several, dropping byte-identical images (the first name wins)."""
    seen: set[str] = set()
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for name, part in named.items():
        skipped.update(part.skipped)
        for sample in part.samples:
            digest = hashlib.sha256(part.store.read_bytes(sample.path)).hexdigest()
            if digest in seen:
                skipped["duplicate image"] += 1
                continue
            seen.add(digest)
            samples.append(replace(sample, path=f"{name}/{sample.path}", group=f"{name}:{sample.group}"))
    return SampleSet(samples, MergedStore({name: part.store for name, part in named.items()}), skipped)

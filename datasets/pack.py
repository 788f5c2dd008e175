"""Pack a data set into one zip of resized JPEGs with its manifest.

One file travels and reads faster than thirteen thousand small ones (a GPU machine,
a CI cache); images are shrunk to the size training uses and re-encoded once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

from binwatch.datasets.images import ImageDecodeError, encode_jpeg, fit_within
from binwatch.datasets.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, SampleSet

MIN_SIDE = 16  # to_rgb8 refuses images under 8 px; a pack of thumbnails smaller than this is a typo


def packed_name(path: str) -> str:
    """The name of an image in the zip: under ``images/``, without ``..`` (waste-v2 points into its
    sibling ``../waste-v1/``), so that unpacking the zip never writes outside its folder."""
    parts = [p for p in PurePosixPath(path).parts if p not in ("..", ".", "/")]
    if parts and parts[0] == "images":
        parts = parts[1:]
    return "/".join(["images", *parts])


def pack(samples: SampleSet, out: Path, max_side: int = 160, quality: int = 70) -> Counter:
    """Write ``out`` (a zip); returns counts of what was written and skipped. The data set packed is never
    the file written over, and a pack in which no image decoded is an error, not an empty zip."""
    if out.suffix != ".zip":
        raise ValueError(f"{out}: the packed data set must be a .zip file")
    if out.resolve() == Path(samples.store.location).resolve():
        raise ValueError(f"{out}: is the data set being packed; write the pack to another file")
    if max_side < MIN_SIDE or not 1 <= quality <= 100:
        raise ValueError(f"--max-side must be at least {MIN_SIDE} and --quality 1-100 (got {max_side}, {quality})")
    tally: Counter = Counter()
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=MANIFEST_COLUMNS)
    writer.writeheader()
    tmp = out.with_suffix(out.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for sample in samples.samples:
            try:
                rgb = fit_within(samples.store.read_rgb(sample.path), max_side)
            except ImageDecodeError:
                tally["skipped: undecodable"] += 1
                continue
            data = encode_jpeg(rgb, quality)
            name = packed_name(sample.path)
            archive.writestr(name, data)
            writer.writerow(
                {
                    "path": name,
                    "category": sample.category,
                    "item": sample.item or "",
                    "source": sample.source,
                    "source_class": "",
                    "width": rgb.shape[1],
                    "height": rgb.shape[0],
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "orig_path": sample.path,
                    "orig_sha256": "",
                    "group": sample.group,
                }
            )
            tally["written"] += 1
        archive.writestr(MANIFEST_NAME, rows.getvalue())
    if not tally["written"]:
        tmp.unlink()
        raise ValueError(f"none of the {tally['skipped: undecodable']} images could be decoded; nothing written")
    tmp.replace(out)
    return tally

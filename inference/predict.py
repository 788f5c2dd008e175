"""``binwatch predict``: classify image files in batches, one JSON line per file.

Decoding runs in a thread pool (OpenCV releases the GIL) while onnxruntime works on the
previous batch; an unreadable file gets an ``error`` line and the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from binwatch.datasets.images import IMAGE_SUFFIXES, ImageDecodeError, read_image
from binwatch.inference.classifier import Classifier, summarize


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Files as given; folders walked for image files, in sorted order."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                    yield str(file)
        else:
            yield given


def _load(classifier: Classifier, path: str):
    try:
        return classifier.preprocess(read_image(path)), None
    except ImageDecodeError as exc:
        return None, str(exc)


def predict_paths(classifier: Classifier, paths: Iterable[str], batch_size: int = 64) -> Iterator[dict]:
    files = list(expand(paths))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            loaded = list(pool.map(lambda p: _load(classifier, p), chunk))
            good = [array for array, _ in loaded if array is not None]
            if good:
                items, categories = classifier.probabilities(np.stack(good))
                predictions = iter(summarize(i, c, classifier.meta) for i, c in zip(items, categories, strict=True))
            for path, (array, error) in zip(chunk, loaded, strict=True):
                if array is None:
                    yield {"path": path, "error": error}
                else:
                    yield {"path": path, **next(predictions).to_dict(), "model": classifier.version}


def write_jsonl(rows: Iterable[dict], out) -> int:
    """Returns the number of rows with an error."""
    errors = 0
    for row in rows:
        errors += "error" in row
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return errors

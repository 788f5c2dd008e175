"""Model roll-out: fetch the collector's current model, prove it works, then hand it over.

Runs off the frame loop. A new file is downloaded to a temporary name, its SHA-256 and size
checked, then loaded by onnxruntime (which also checks its taxonomy version) and given a
smoke prediction. Only a model that passes all of that is returned; anything else is
deleted and remembered, so a broken version is not fetched again and again, and the
running model stays.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import httpx
import numpy as np

from edge.config import CollectorConfig
from inference.classifier import Classifier

log = logging.getLogger(__name__)
CURRENT_MODEL_PATH = "/api/v1/device/model"


class ModelUpdater:
    def __init__(self, config: CollectorConfig, models_dir: Path, transport: httpx.BaseTransport | None = None):
        self.models_dir = models_dir
        self.rejected: set[str] = set()
        self._http = httpx.Client(
            base_url=config.url.rstrip("/"), timeout=max(config.timeout_s, 60.0), transport=transport,
            headers={"Authorization": f"Bearer {config.token}", "User-Agent": "binwatch-edge"},
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def check(self, running_version: str) -> Classifier | None:
        """A verified new classifier when the collector's current model differs from ours."""
        try:
            response = self._http.get(CURRENT_MODEL_PATH)
        except httpx.HTTPError as exc:
            log.info("model check: collector unreachable (%s)", exc)
            return None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("model check: HTTP %s %s", response.status_code, response.text[:200])
            return None
        offer = response.json()
        if offer["version"] == running_version or offer["sha256"] in self.rejected:
            return None
        log.info("model %s offered (running %s): downloading", offer["version"], running_version)
        try:
            path = self._download(offer)
        except (httpx.HTTPError, ValueError, OSError) as exc:
            log.error("model %s: download failed (%s); keeping %s", offer["version"], exc, running_version)
            return None
        try:
            classifier = Classifier(path, threads=1)
            smoke_test(classifier)
        except Exception as exc:  # any failure to load or run means: not this model
            log.error("model %s failed to load or run (%s); discarded, keeping %s", offer["version"], exc,
                      running_version)  # fmt: skip
            self.rejected.add(offer["sha256"])
            path.unlink(missing_ok=True)
            return None
        log.info("model %s verified and loaded", classifier.version)
        return classifier

    def _download(self, offer: dict) -> Path:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        final = self.models_dir / f"binwatch-{offer['version']}.onnx"
        tmp = final.with_suffix(".part")
        digest = hashlib.sha256()
        with self._http.stream("GET", offer["url"]) as response, tmp.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != offer["sha256"] or tmp.stat().st_size != offer["size"]:
            tmp.unlink()
            self.rejected.add(offer["sha256"])
            raise ValueError("SHA-256 or size does not match the collector's record")
        tmp.replace(final)
        return final


def smoke_test(classifier: Classifier) -> None:
    """One prediction on a synthetic image: the outputs must be finite probabilities."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    items, categories = classifier.probabilities(classifier.preprocess.batch([image]))
    if items.shape != (1, len(classifier.meta.labels)) or categories.shape != (1, len(classifier.meta.categories)):
        raise ValueError(f"unexpected output shapes {items.shape}, {categories.shape}")
    if not (np.isfinite(items).all() and abs(float(categories.sum()) - 1.0) < 1e-2):
        raise ValueError("outputs are not probabilities")

"""Model roll-out: fetch the collector's current model, prove it works, then hand it over.

Runs in its own thread, never on the frame loop: at start and every ``collector.model_check_s``
it asks the collector which model is current (``CollectorClient.current_model``). A version
other than the one running is downloaded to ``<storage.dir>/models/<version>.onnx.part``, its
size and SHA-256 checked against the offer, renamed, loaded by onnxruntime (which also checks
its taxonomy version), its metadata version compared with the offered one, and given a smoke
prediction. Only a model that passes all of that is installed (``models/current.json``) and
handed over; the agent swaps it in between two frames. A model that fails is deleted and its
SHA-256 remembered (until restart), so it is not fetched again while the collector keeps
offering it, and the running model stays. A collector that cannot be reached, or a download
that breaks off, is only logged: the next check tries again.

On restart ``load_installed`` gives the last installed model (its SHA-256 checked again, loaded
and smoke-tested), which the box runs instead of the configured ``model`` until the collector
offers another one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from binwatch.edge.client import CollectorClient, DownloadError, ModelOffer, Outcome
from binwatch.edge.modelcheck import Rejected, verified
from binwatch.edge.storage import fsync_dir
from binwatch.inference.classifier import Classifier

log = logging.getLogger(__name__)

INSTALLED = "current.json"  # {"version", "sha256", "file"} of the model handed over last
PART = ".part"


class ModelUpdater:
    """Asks the collector for its current model and hands a verified new one to ``hand_over``."""

    def __init__(
        self,
        client: CollectorClient,
        models_dir: Path,
        running_version: str,
        hand_over: Callable[[Classifier], None],
        interval_s: float = 300.0,
    ):
        self.client, self.models_dir, self.hand_over, self.interval_s = client, models_dir, hand_over, interval_s
        self.version = running_version  # the model running, or handed over to run from the next frame
        self.rejected: dict[str, str] = {}  # SHA-256 → why it was discarded
        self.failing = False
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Check at once, then every ``interval_s``, until ``stop`` (which also aborts a download)."""
        self._stop = stop
        self.sweep()
        while not stop.is_set():
            try:
                self.check()
            except Exception:  # a bug here must not end roll-out for good, nor the agent
                log.exception("model check failed; trying again in %.0f s", self.interval_s)
            stop.wait(self.interval_s)

    def sweep(self) -> None:
        """Remove downloads a crash left unfinished."""
        for part in self.models_dir.glob(f"*{PART}"):
            log.warning("removing unfinished download %s", part.name)
            part.unlink(missing_ok=True)

    def check(self) -> Classifier | None:
        """One look at the collector; the new classifier when one was verified and handed over."""
        answer, offer = self.client.current_model()
        if answer.outcome is not Outcome.DONE:
            if not self.failing:
                log.warning("model check: %s; asking again every %.0f s", answer.detail, self.interval_s)
            self.failing = True
            return None
        if self.failing:
            log.info("model check: the collector answers again")
        self.failing = False
        if offer is None or offer.version == self.version or offer.sha256 in self.rejected:
            return None
        log.info("model %s offered (running %s): downloading %d bytes", offer.version, self.version, offer.size)
        path = self.models_dir / f"{offer.version}.onnx"
        try:
            self._download(offer, path)
            classifier = verified(path, offer.version)
            self._install(offer, path)
        except Rejected as exc:
            path.unlink(missing_ok=True)
            self.rejected[offer.sha256] = str(exc)
            log.error("model %s discarded, keeping %s: %s", offer.version, self.version, exc)
            return None
        except (DownloadError, httpx.HTTPError, OSError) as exc:
            log.warning(
                "model %s: download failed (%s); keeping %s, trying again at the next check",
                offer.version,
                exc,
                self.version,
            )
            return None
        log.info("model %s verified and installed; swapping it in (was %s)", offer.version, self.version)
        self.version = offer.version
        self.hand_over(classifier)
        for old in self.models_dir.glob("*.onnx"):
            if old != path:
                old.unlink(missing_ok=True)
        return classifier

    def _download(self, offer: ModelOffer, path: Path) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + PART)
        digest, received = hashlib.sha256(), 0
        try:
            with part.open("wb") as out:

                def write(chunk: bytes) -> None:
                    nonlocal received
                    if self._stop.is_set():
                        raise DownloadError("the agent is stopping")
                    received += len(chunk)
                    if received > offer.size:
                        raise Rejected(f"longer than the {offer.size} bytes the collector's record says")
                    digest.update(chunk)
                    out.write(chunk)

                self.client.download(offer.url, write)
                out.flush()
                os.fsync(out.fileno())
            if received != offer.size or digest.hexdigest() != offer.sha256:
                raise Rejected(
                    f"{received} bytes with SHA-256 {digest.hexdigest()[:12]}…, but the collector's record says "
                    f"{offer.size} bytes with SHA-256 {offer.sha256[:12]}…"
                )
            os.replace(part, path)
            fsync_dir(self.models_dir)
        finally:
            part.unlink(missing_ok=True)

    def _install(self, offer: ModelOffer, path: Path) -> None:
        """Record the model as the one to start with after a restart."""
        record = self.models_dir / INSTALLED
        tmp = record.with_name(record.name + PART)
        with tmp.open("w", encoding="utf-8") as out:
            json.dump({"version": offer.version, "sha256": offer.sha256, "file": path.name}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, record)
        fsync_dir(self.models_dir)


def load_installed(models_dir: Path) -> Classifier | None:
    """The model roll-out installed last, checked again; ``None`` when there is none or it is unusable."""
    record_path = models_dir / INSTALLED
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        path = models_dir / Path(record["file"]).name
        with path.open("rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != record["sha256"]:
                raise ValueError(f"{path.name} changed on disk")
        classifier = verified(path, record["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # Rejected is a ValueError
        log.warning("the model installed by roll-out cannot be used (%s); starting with the configured one", exc)
        record_path.unlink(missing_ok=True)
        return None
    log.info("starting with model %s, installed by roll-out (%s)", classifier.version, path)
    return classifier

"""Register a promoted model with the collector's model registry, so the edge boxes get it."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import httpx

log = logging.getLogger(__name__)


def register_model(collector_url: str, token: str | None, report: dict, make_current: bool = True) -> dict:
    """Upload the INT8 file of a promoted retrain with its metrics and SHA-256; then make it current."""
    if not token:
        raise ValueError("registering a model needs an admin --token")
    base = collector_url.rstrip("/") + "/api/v1"
    path = Path(report["export"]["files"]["int8"])
    data = path.read_bytes()
    metrics = {
        "fixed": report["candidate_scores"]["fixed"],
        "reviews": report["candidate_scores"]["reviews"],
        "replaces": report["current"],
        "precision": "int8",
    }
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(timeout=120.0, headers=headers) as client:
            response = client.post(
                f"{base}/models",
                data={
                    "version": report["candidate"],
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "metrics": json.dumps(metrics),
                },
                files={"file": (path.name, data, "application/octet-stream")},
            )
            response.raise_for_status()
            registered = response.json()
            if make_current:
                response = client.post(f"{base}/models/{report['candidate']}/current")
                response.raise_for_status()
                registered = response.json()
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ValueError(f"could not register model {report['candidate']} with {collector_url}: {exc}") from None
    log.info("registered model %s with %s (current: %s)", report["candidate"], collector_url, registered["current"])
    return registered

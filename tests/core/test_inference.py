"""The shipped release model through onnxruntime: parity with PyTorch, metadata, refusals."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from binwatch.datasets import manifest
from binwatch.inference.classifier import Classifier, ModelFileError, default_model_path
from binwatch.training.checkpoint_classifier import CheckpointClassifier


def test_pytorch_and_onnx_agree_on_the_same_image_files(release_pair, samples_dir):
    checkpoint, fp32, int8 = release_pair
    torch_model, onnx_model = CheckpointClassifier(checkpoint), Classifier(fp32)
    assert torch_model.meta.preprocess == onnx_model.meta.preprocess
    data = manifest.load(samples_dir)
    # Each side preprocesses the files itself, through its own metadata.
    batch_torch = torch_model.meta.preprocess.batch([data.store.read_rgb(s.path) for s in data.samples])
    batch_onnx = onnx_model.preprocess.batch([data.store.read_rgb(s.path) for s in data.samples])
    t_items, t_cats = torch_model.probabilities(batch_torch)
    o_items, o_cats = onnx_model.probabilities(batch_onnx)
    assert np.abs(t_items - o_items).max() < 1e-4 and np.abs(t_cats - o_cats).max() < 1e-4
    q_items, _ = Classifier(int8).probabilities(batch_onnx)
    assert (q_items.argmax(1) == o_items.argmax(1)).mean() >= 0.9


def test_release_model_classifies_the_samples(samples_dir):
    classifier = Classifier(default_model_path())
    assert classifier.meta.precision == "int8"
    data = manifest.load(samples_dir)
    predictions = classifier.predict([data.store.read_rgb(s.path) for s in data.samples])
    correct = sum(p.category == s.category for p, s in zip(predictions, data.samples, strict=True))
    assert correct / len(data) >= 0.9
    for p in predictions:
        assert abs(sum(p.category_scores.values()) - 1) < 1e-2


def _rewrite(src, dst, **changes):
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    del model.metadata_props[:]
    for key, value in {**props, **changes}.items():
        if value is not None:
            model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(dst))


def test_model_of_another_taxonomy_is_refused(release_pair, tmp_path):
    _rewrite(release_pair[1], tmp_path / "old.onnx", **{"binwatch.taxonomy_version": "zmd-2019.1"})
    with pytest.raises(ValueError, match="taxonomy 'zmd-2019.1'"):
        Classifier(tmp_path / "old.onnx")


def test_model_without_metadata_or_broken_file_is_refused(release_pair, tmp_path):
    _rewrite(release_pair[1], tmp_path / "bare.onnx", **{"binwatch.labels": None})
    with pytest.raises(ModelFileError, match="not a binwatch model"):
        Classifier(tmp_path / "bare.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ModelFileError, match="cannot load"):
        Classifier(tmp_path / "junk.onnx")
    with pytest.raises(ModelFileError, match="no such model"):
        Classifier(tmp_path / "none.onnx")


def test_edge_side_imports_no_torch():
    code = (
        "import sys, binwatch.inference.classifier, binwatch.inference.predict, binwatch.inference.evaluate, "
        "binwatch.datasets.manifest, binwatch.edge.config, binwatch.events.schema; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_graph_that_does_not_match_its_metadata_is_refused_on_loading(release_pair, tmp_path, samples_dir):
    from binwatch.datasets import taxonomy

    newer = list(taxonomy.VERSIONS["zmd-2024.2"])
    preprocess = json.dumps({"size": 224, "mean": [0.5] * 3, "std": [0.5] * 3, "resize": "letterbox"})
    _rewrite(release_pair[1], tmp_path / "224.onnx", **{"binwatch.preprocess": preprocess})
    _rewrite(
        release_pair[1],
        tmp_path / "32.onnx",
        **{"binwatch.labels": json.dumps(newer), "binwatch.taxonomy_version": "zmd-2024.2"},
    )
    one_output = onnx.load(str(release_pair[1]))
    del one_output.graph.output[1]
    onnx.save(one_output, str(tmp_path / "one-output.onnx"))
    for name, says in (
        ("224.onnx", "but its metadata says images of 3×224×224"),
        ("32.onnx", f"its metadata names {len(newer)} items"),
        ("one-output.onnx", "it has 1 outputs, not 2"),
    ):
        with pytest.raises(ModelFileError, match=says):
            Classifier(tmp_path / name)
    photo = next((samples_dir / "images").rglob("*.jpg"))
    result = subprocess.run(
        [sys.executable, "-m", "binwatch", "predict", "--model", str(tmp_path / "32.onnx"), str(photo)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "names 32 items" in result.stderr

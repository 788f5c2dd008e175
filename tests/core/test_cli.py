"""The ``binwatch`` command as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path


def binwatch(*args, check=True):
    return subprocess.run([sys.executable, "-m", "binwatch", *args], capture_output=True, text=True, check=check)


def test_help_lists_the_subcommands():
    out = binwatch("--help").stdout
    for command in ("data", "train", "export", "predict", "eval"):
        assert command in out


def test_training_help_imports_no_torch():
    """The training commands list their options on a box without PyTorch."""
    code = (
        "import contextlib, io, sys; from binwatch.cli import main\n"
        "for command in ('train', 'export', 'retrain'):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main([command, '--help'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_predict_prints_one_line_per_file_and_goes_on_after_errors(samples_dir, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    result = binwatch("predict", str(samples_dir / "images"), str(bad), check=False)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    images = list((samples_dir / "images").rglob("*.jpg"))
    assert len(rows) == len(images) + 1
    good = [r for r in rows if "error" not in r]
    assert {"path", "category", "category_score", "item", "item_score", "model"} <= set(good[0])
    assert rows[-1]["path"] == str(bad) and "not a decodable image" in rows[-1]["error"]


def test_eval_writes_report_and_confusion_png(samples_dir, tmp_path):
    result = binwatch("eval", "--data", str(samples_dir), "--out", str(tmp_path), "--latency-images", "5")
    assert "macro-F1" in result.stdout and "latency" in result.stdout
    report_path = next(tmp_path.glob("eval-*.json"))
    report = json.loads(report_path.read_text())
    assert set(report["per_category"]) == {"recyclable", "hazardous", "kitchen", "other"}
    assert 0 <= report["ece"] <= 1 and report["latency_ms"]["p95"] >= report["latency_ms"]["median"]
    assert sum(map(sum, report["confusion_matrix"])) == report["images"]
    png = Path(str(report_path).removesuffix(".json") + "-confusion.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_data_stats_and_bad_input_messages(samples_dir, tmp_path):
    out = binwatch("data", "stats", str(samples_dir), "--json").stdout
    stats = json.loads(out)
    assert stats["all"]["total"] == stats["train"]["total"] + stats["val"]["total"]
    result = binwatch("data", "stats", str(tmp_path), check=False)
    assert result.returncode == 2 and "no images found" in result.stderr


def test_eval_tables_by_crop_size_and_condition_are_deterministic(samples_dir, tmp_path):
    args = ["eval", "--data", str(samples_dir), "--latency-images", "0", "--degrade", "12"]
    first = binwatch(*args, "--out", str(tmp_path / "a"), "--sources", "zju-garbage26,trashnet")
    binwatch(*args, "--out", str(tmp_path / "b"), "--sources", "zju-garbage26,trashnet")
    assert "crop long side" in first.stdout and "low light" in first.stdout and "coverage" in first.stdout
    a = json.loads(next((tmp_path / "a").glob("eval-*.json")).read_text())
    b = json.loads(next((tmp_path / "b").glob("eval-*.json")).read_text())
    assert a["degraded"] == b["degraded"] and a["images"] == 27  # 23 + 4 photos of the two sources
    assert set(a["per_source_accuracy"]) == {"zju-garbage26", "trashnet"}
    assert set(a["degraded"]["by_size"]) <= {"<40", "40-60", "60-80", "80-120", ">=120"}
    assert sum(row["images"] for row in a["degraded"]["by_size"].values()) == 12 * 5
    assert set(a["degraded"]["by_condition"]) >= {"clean", "motion blur", "low light", "JPEG q20"}
    curve = a["coverage_curve"]
    assert curve[0]["threshold"] == 0 and curve[0]["coverage"] == 1 and curve[0]["precision"] == a["accuracy"]
    result = binwatch(*args, "--out", str(tmp_path / "c"), "--sources", "nowhere", check=False)
    assert result.returncode == 2 and "unknown source" in result.stderr


def test_the_release_model_evaluates_data_of_the_newer_taxonomy(samples_dir, tmp_path):
    """Masks and thermometers are items 2026.11.26 never had: it is scored on their categories."""
    data = tmp_path / "new"
    images = sorted((samples_dir / "images").rglob("*.jpg"))
    for item, picks in (("mask", images[:3]), ("thermometer", images[3:5]), ("battery", images[5:7])):
        (data / item).mkdir(parents=True)
        for p in picks:
            (data / item / p.name).write_bytes(p.read_bytes())
    binwatch("eval", "--data", str(data), "--out", str(tmp_path / "out"), "--latency-images", "0", "--degrade", "0")
    report = json.loads(next((tmp_path / "out").glob("eval-*.json")).read_text())
    assert report["images"] == 7 and report["item"]["images"] == 2  # only the batteries have a label in the model
    assert report["per_category"]["other"]["support"] == 3 and report["per_category"]["hazardous"]["support"] == 4


def one_error_line(result) -> str:
    """The command failed with exactly one line on stderr and no traceback; that line."""
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_predict_on_a_folder_without_images_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    line = one_error_line(binwatch("predict", str(tmp_path), check=False))
    assert "no images found" in line and str(tmp_path) in line


def test_export_of_a_corrupt_checkpoint_is_one_line(samples_dir, tmp_path):
    release = next((Path(__file__).resolve().parents[2] / "model" / "release").glob("*.pt"))
    truncated, garbage = tmp_path / "truncated.pt", tmp_path / "garbage.pt"
    truncated.write_bytes(release.read_bytes()[:5000])
    garbage.write_bytes(b"not a checkpoint at all")
    for bad in (truncated, garbage):
        result = binwatch("export", str(bad), "--data", str(samples_dir), "--out", str(tmp_path / "out"), check=False)
        assert "not a readable checkpoint" in one_error_line(result)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_demo_on_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = binwatch("demo", "--port", str(port), "--dir", str(tmp_path / "demo"), check=False)
    line = one_error_line(result)
    assert f"127.0.0.1:{port}" in line and "in use" in line


def refusal(capsys, *args: str) -> str:
    """``binwatch ARGS``, run in this process, failed with exit code 2 and no traceback; its last line
    on stderr (argparse prints the usage above it)."""
    from binwatch.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's refusal
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    return err.strip().splitlines()[-1]


def test_nonsense_numbers_are_refused_by_the_options_name(capsys, samples_dir):
    data = str(samples_dir)
    cases = {
        ("train", data, "--epochs", "0"): "argument --epochs: must be at least 1, not 0",
        ("train", data, "--batch-size", "0"): "argument --batch-size: must be at least 1, not 0",
        ("train", data, "--label-smoothing", "5"): "argument --label-smoothing: must be at least 0 and below 1, not 5",
        ("train", data, "--ema-decay", "2"): "argument --ema-decay: must be at least 0 and at most 1, not 2",
        ("train", data, "--camera", "nan"): "argument --camera: expected a finite number, not 'nan'",
        ("train", data, "--target-precision", "2"): "argument --target-precision: must be above 0 and at most 1",
        ("train", data, "--review-weight", "-1"): "argument --review-weight: must be above 0, not -1",
        ("loso", data, "--epochs", "-1"): "argument --epochs: must be at least 1, not -1",
        ("loso", data, "--per-source", "-1"): "argument --per-source: must be at least 0, not -1",
        ("export", "x.pt", "--data", data, "--max-abs-diff", "nan"): "argument --max-abs-diff: expected a finite",
        ("retrain", "--reviews", data, "--base", data, "--review-holdout", "1"): "argument --review-holdout: must be",
        ("predict", data, "--batch-size", "-1"): "argument --batch-size: must be at least 1, not -1",
        ("predict", data, "--batch-size", "0"): "argument --batch-size: must be at least 1, not 0",
        ("eval", "--data", data, "--seed", "-5"): "argument --seed: must be at least 0, not -5",
        ("eval", "--data", data, "--degrade", "1.5"): "argument --degrade: expected an integer, not '1.5'",
        ("export", "x.pt", "--data", data, "--quant-method", "bogus"): "argument --quant-method: invalid choice",
        ("train", data, "--select", "first"): "argument --select: invalid choice",
        ("train", data, "--size", "7"): "argument --size: must be at least 16 and at most 1024, not 7",
    }
    for args, message in cases.items():
        assert refusal(capsys, *args).startswith(f"binwatch {args[0]}: error: {message}"), args


def test_a_bad_device_or_weights_file_is_refused_before_training(capsys, samples_dir, tmp_path):
    run = ("train", str(samples_dir), "--out", str(tmp_path / "run"), "--size", "64", "--workers", "0")
    assert refusal(capsys, *run, "--device", "bogus").endswith("--device bogus: expected auto, cpu, cuda or cuda:N")
    notes = tmp_path / "notes.txt"
    notes.write_text("not weights\n")
    line = refusal(capsys, *run, "--device", "cpu", "--pretrained-weights", str(notes))
    assert line.startswith(f"binwatch train: error: {notes}: not a readable weights file")
    assert not list((tmp_path / "run").glob("*.pt"))
    (tmp_path / "run" / "best.pt").write_bytes(b"a finished run")
    line = refusal(capsys, *run, "--device", "cpu")
    assert line.endswith("holds a run (best.pt); pass --resume to continue it, or another --out")
    assert (tmp_path / "run" / "best.pt").read_bytes() == b"a finished run"


def test_a_run_that_cannot_be_resumed_is_named(capsys, tiny_checkpoint, samples_dir, tmp_path):
    import shutil

    (tmp_path / "run").mkdir()
    shutil.copy(tiny_checkpoint, tmp_path / "run" / "last.pt")  # a model, but no training state
    run = ("train", str(samples_dir), "--out", str(tmp_path / "run"), "--size", "64", "--workers", "0")
    line = refusal(capsys, *run, "--device", "cpu", "--resume")
    assert "last.pt cannot be resumed with these options (KeyError: 'train_state')" in line


def test_a_checkpoint_whose_weights_do_not_fit_is_refused_by_each_command(
    capsys, tiny_checkpoint, samples_dir, tmp_path
):
    import torch

    payload = torch.load(tiny_checkpoint, weights_only=False)
    bad = tmp_path / "bad.pt"
    torch.save({**payload, "state_dict": {**payload["state_dict"], "classifier.weight": torch.zeros(3, 1280)}}, bad)
    data, out = str(samples_dir), str(tmp_path / "out")
    expected = f"{bad}: not a binwatch checkpoint: its weights do not fit a tf_efficientnet_lite0 with 32 labels"
    for args in (
        ("eval", "--model", str(bad), "--data", data, "--out", out),
        ("export", str(bad), "--data", data, "--out", out),
        ("retrain", "--checkpoint", str(bad), "--reviews", data, "--base", data, "--out", out),
    ):
        assert expected in refusal(capsys, *args), args


def test_export_names_the_calibration_file_and_what_is_wrong(capsys, tiny_checkpoint, samples_dir, tmp_path):
    cases = {"[1, 2]": "expected an object with temperature", '{"temperature": "hot"}': "temperature 'hot' is not"}
    for text, why in cases.items():
        calibration = tmp_path / "calibration.json"
        calibration.write_text(text)
        args = ("export", str(tiny_checkpoint), "--data", str(samples_dir), "--out", str(tmp_path / "out"))
        line = refusal(capsys, *args, "--calibration", str(calibration))
        assert line.startswith(f"binwatch export: error: {calibration}: not a calibration: {why}")


def test_retrain_says_when_the_collector_cannot_be_reached(capsys, tiny_checkpoint, samples_dir, tmp_path):
    from tests.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    args = ("retrain", "--reviews", url, "--token", "x", "--base", str(samples_dir), "--out", str(tmp_path))
    line = refusal(capsys, *args, "--checkpoint", str(tiny_checkpoint))
    assert f"the collector could not be reached at {url}/api/v1/export/reviewed.zip" in line
    line = refusal(capsys, "retrain", "--reviews", str(samples_dir), "--base", str(samples_dir), "--register", url)
    assert line.endswith("--register needs --token (an admin token)")


def test_training_on_images_none_of_which_decodes_fails_before_training(capsys, tmp_path):
    for i, item in enumerate(("battery", "fruit_peel", "paper", "mask") * 3):
        (tmp_path / "data" / item).mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / item / f"{i}.jpg").write_bytes(b"\xff\xd8 not a picture %d" % i)
    out = tmp_path / "run"
    line = refusal(capsys, "train", str(tmp_path / "data"), "--out", str(out), "--device", "cpu", "--workers", "0")
    assert "data: no readable training images (none of" in line and "truncated JPEG" in line
    assert not list(out.glob("*.pt")) and not (out / "metrics.jsonl").exists()

"""The scene simulator: drop-off point videos with ground truth, and scoring against it (see README.md)."""

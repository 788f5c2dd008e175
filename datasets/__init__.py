"""Four-category waste taxonomy, manifests, splits and image decoding."""

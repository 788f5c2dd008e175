"""Bad and unusual image files: converted to RGB uint8 or refused with a clear error."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from binwatch.datasets.images import ImageDecodeError, decode_image, read_image


@pytest.fixture
def photo(samples_dir) -> bytes:
    return next((samples_dir / "images").rglob("*.jpg")).read_bytes()


def test_reads_a_real_photo_as_rgb(photo):
    rgb = decode_image(photo)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_rgb_order_matches_pillow(photo):
    ours = decode_image(photo).astype(int)
    pillow = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")).astype(int)
    assert np.abs(ours - pillow).mean() < 2.0


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "I;16"])
def test_converts_grayscale_cmyk_alpha_and_16_bit(photo, mode):
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    if mode == "I;16":
        array = np.asarray(image.convert("L")).astype(np.uint16) * 257
        ok, buf = cv2.imencode(".png", array)
        data = buf.tobytes()
    else:
        buf = io.BytesIO()
        image.convert(mode).save(buf, format="PNG" if mode == "RGBA" else "JPEG")
        data = buf.getvalue()
    rgb = decode_image(data, mode)
    assert rgb.shape == (image.height, image.width, 3) and rgb.dtype == np.uint8


def test_alpha_is_composited_on_white():
    rgba = np.zeros((16, 16, 4), np.uint8)
    ok, buf = cv2.imencode(".png", rgba)
    assert (decode_image(buf.tobytes()) == 255).all()


def test_truncated_jpeg_is_refused(photo):
    with pytest.raises(ImageDecodeError, match="truncated"):
        decode_image(photo[: len(photo) // 2], "half.jpg")


@pytest.mark.parametrize("data", [b"", b"GIF89a garbage", b"\x89PNG\r\n\x1a\n broken"])
def test_corrupt_bytes_are_refused(data):
    with pytest.raises(ImageDecodeError):
        decode_image(data, "bad")


def test_missing_file_is_a_decode_error(tmp_path):
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "nope.jpg")


def test_a_motion_photo_with_video_after_the_image_is_read(photo):
    """Phones append a video (or a second picture) after the JPEG's end-of-image marker."""
    rgb = decode_image(photo + b"\x00\x00\x00\x18ftypmp42" + bytes(200_000), "motion.jpg")
    assert rgb.shape == decode_image(photo).shape


def test_a_header_claiming_more_pixels_than_opencv_decodes_is_refused(photo):
    sof = photo.index(b"\xff\xc0")
    bomb = photo[: sof + 5] + (60_000).to_bytes(2, "big") + (60_000).to_bytes(2, "big") + photo[sof + 9 :]
    with pytest.raises(ImageDecodeError, match="bomb.jpg: cannot be decoded"):
        decode_image(bomb, "bomb.jpg")


def test_an_iphone_heic_photo_is_read_and_a_broken_one_refused(photo, tmp_path):
    import pillow_heif

    rgb = decode_image(photo)
    heif = pillow_heif.from_bytes(mode="RGB", size=(rgb.shape[1], rgb.shape[0]), data=rgb.tobytes())
    heif.save(tmp_path / "IMG_0001.HEIC", quality=95)
    data = (tmp_path / "IMG_0001.HEIC").read_bytes()
    assert data[4:12] == b"ftypheic"
    decoded = read_image(tmp_path / "IMG_0001.HEIC")
    assert decoded.shape == rgb.shape and np.abs(decoded.astype(int) - rgb).mean() < 8  # RGB order kept
    with pytest.raises(ImageDecodeError, match="not a decodable HEIF image"):
        decode_image(data[: len(data) // 2], "half.heic")


def test_a_folder_of_photos_in_the_formats_phones_and_the_web_use_is_predicted(photo, tmp_path):
    from binwatch.inference.predict import expand

    rgb = decode_image(photo)
    for suffix in (".avif", ".webp", ".jfif"):
        ok, buf = cv2.imencode(".jpg" if suffix == ".jfif" else suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        (tmp_path / f"a{suffix.upper()}").write_bytes(buf.tobytes())
    found = list(expand([str(tmp_path)]))
    assert len(found) == 3
    assert all(np.abs(read_image(p).astype(int) - rgb).mean() < 12 for p in found)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_phone_photo_is_turned_upright_as_a_viewer_shows_it(photo, orientation):
    """Phones store the pixels as the sensor read them and say in EXIF how to turn them."""
    from PIL import ImageOps

    stored = Image.open(io.BytesIO(photo)).convert("RGB").crop((0, 0, 40, 24))  # not square: turns show
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    ours = decode_image(buf.getvalue(), f"orientation-{orientation}.jpg")
    viewer = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGB"))
    assert ours.shape == viewer.shape and np.abs(ours.astype(int) - viewer).mean() < 3

"""Pictures as the model sees them: 16-bit, transparent and float images, odd shapes, budgets,
roles and URLs that never answer."""

import http.server
import io
import socket
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from qwen_vl_utils.vision_process import fetch_image

import helpers
from helpers.common.errors import InputError
from helpers.images import to_image
from helpers.messages import check_messages, image_message

# 64x64 so qwen-vl-utils keeps the size (a multiple of 32): its pixels compare one to one.
RAMP16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 ... 65520


def _model_view(tmp_path, name):
    """What the model gets for an image file: qwen-vl-utils reading the checked item."""
    [item] = check_messages(image_message(tmp_path / name, "x"))[0]["content"][:1]
    return np.asarray(fetch_image(item, image_patch_size=16))


def _save_16bit_png(path):
    Image.fromarray(RAMP16).save(path)


def _save_16bit_tiff(path):
    cv2.imwrite(str(path), RAMP16)


def _save_float_tiff(path):
    Image.fromarray(RAMP16.astype(np.float32) / 65535).save(path)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("wide_float.tif", np.full((8, 8), 1000.0, np.float32)),  # float, not 0-1 nor 0-255
        ("negative_float.tif", np.full((8, 8), -0.5, np.float32)),  # float below 0
        ("int32.tif", np.full((8, 8), 70000, np.int32)),  # 32-bit integers above 16 bits
    ],
)
def test_images_of_unknown_range_are_refused_not_clipped(tmp_path, name, values):
    Image.fromarray(values).save(tmp_path / name)
    with pytest.raises(helpers.InputError, match=rf"{name}.*values from .* save it scaled"):
        helpers.load_image(tmp_path / name)


@pytest.mark.parametrize(
    ("name", "save"),
    [
        ("grey16.png", _save_16bit_png),  # 16-bit grey PNG (opens as I;16)
        ("grey16.tif", _save_16bit_tiff),  # 16-bit grey TIFF
        ("float.tif", _save_float_tiff),  # 32-bit float TIFF in 0-1
    ],
)
def test_high_bit_depth_is_scaled_not_saturated(tmp_path, name, save):
    save(tmp_path / name)
    shown = np.asarray(helpers.load_image(tmp_path / name))[..., 0].astype(int)
    expected = np.round(RAMP16 / 65535 * 255).astype(int)
    assert np.abs(shown - expected).max() <= 1
    assert (shown == 255).mean() < 0.01  # before: 99.6 % of the pixels were 255
    assert np.array_equal(
        _model_view(tmp_path, name), np.asarray(helpers.load_image(tmp_path / name))
    )


def _rgba_png(path):
    array = np.zeros((64, 64, 4), np.uint8)
    array[..., 0] = 200  # red under the transparent part
    array[:, 32:, 3] = 255  # right half opaque red, left half fully transparent
    Image.fromarray(array).save(path)


def _la_png(path):
    array = np.zeros((64, 64, 2), np.uint8)
    array[..., 0] = 0  # black grey level
    array[:, 32:, 1] = 255
    Image.fromarray(array, "LA").save(path)


def _palette_png(path):
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 200, 0, 0])
    image.paste(1, (32, 0, 64, 64))
    image.save(path, transparency=0)  # palette entry 0 (black) is transparent


def _rgba_webp(path):
    array = np.zeros((64, 64, 4), np.uint8)
    array[..., 0] = 200
    array[:, 32:, 3] = 255
    Image.fromarray(array).save(path, lossless=True)


@pytest.mark.parametrize(
    ("name", "save"),
    [
        ("rgba.png", _rgba_png),  # RGBA
        ("grey_alpha.png", _la_png),  # grey with alpha (qwen-vl-utils would drop the alpha)
        ("palette.png", _palette_png),  # palette with a transparent entry
        ("rgba.webp", _rgba_webp),  # lossless WebP with alpha
    ],
)
def test_transparent_images_show_one_picture(tmp_path, name, save):
    save(tmp_path / name)
    shown = np.asarray(helpers.load_image(tmp_path / name))
    assert (shown[:, :32] == 255).all()  # transparent half: white, for display ...
    assert np.array_equal(_model_view(tmp_path, name), shown)  # ... and for the model


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        # floats in 0-1: scaled by 255 (before: every tile black)
        (np.full((8, 8, 3), 0.5), 128),
        # floats in 0-255
        (np.full((8, 8, 3), 200.0), 200),
        # 16-bit
        (np.full((8, 8, 3), 65535, np.uint16), 255),
        # a boolean mask
        (np.ones((8, 8), bool), 255),
        # grey HxW and HxWx1
        (np.full((8, 8), 7, np.uint8), 7),
        (np.full((8, 8, 1), 9, np.uint8), 9),
        # RGBA with nothing opaque: white
        (np.zeros((8, 8, 4), np.uint8), 255),
        # int64 in 0-255
        (np.full((8, 8, 3), 100, np.int64), 100),
    ],
)
def test_arrays_in_image_grid(array, expected):
    grid = helpers.image_grid([array], tile_wh=(8, 8))
    assert np.asarray(grid)[4, 4].tolist() == [expected] * 3


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (np.zeros((0, 0, 3), np.uint8), "0x0 pixels"),  # empty array
        (np.zeros((0, 5, 3), np.uint8), "5x0 pixels"),  # no rows
        (np.full((4, 4, 3), -0.5), "from -0.5 to -0.5"),  # negative floats
        (np.full((4, 4, 3), np.nan), "NaN"),  # NaN
        (np.full((4, 4, 3), 4000, np.int32), "from 4000 to 4000"),  # ints above 255
        (np.zeros((5,)), "HxW, HxWx3 or HxWx4"),  # one dimension
        (np.zeros((4, 4, 2)), "HxW, HxWx3 or HxWx4"),  # two channels
        (Image.new("RGB", (0, 0)), "0x0 pixels"),  # an empty PIL image
        (np.zeros((1, 4000, 3), np.uint8), "more than 200"),  # 1x4000
    ],
)
def test_bad_arrays_are_refused(value, pattern):
    with pytest.raises(InputError, match=pattern):
        to_image(value)
    with pytest.raises(InputError, match=pattern):
        check_messages(image_message(value, "x"))


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height but which holds almost nothing (a bomb)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        # a 1x4000 strip: the model's resizing refuses ratios above 200
        (lambda p: Image.new("RGB", (1, 4000)).save(p), "more than 200 times"),
        # 4000x1
        (lambda p: Image.new("RGB", (4000, 1)).save(p), "more than 200 times"),
        # a header claiming 100000x100000 pixels: refused before decoding
        (lambda p: _png_header_only(p, 100_000, 100_000), "too large to open safely"),
        # just over Pillow's limit
        (lambda p: _png_header_only(p, 20_000, 5_000), "decompression bomb"),
    ],
)
def test_bad_shapes_are_refused_before_decoding(tmp_path, make, pattern):
    path = tmp_path / "x.png"
    make(path)
    start = time.perf_counter()
    with pytest.raises(InputError, match=rf"x\.png.*{pattern}"):
        check_messages(image_message(path, "x"))
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("budget", "pattern"),
    [
        ({"min_pixels": 4096, "max_pixels": 1024}, "min_pixels .4096. is larger"),  # crossed
        ({"max_pixels": 0}, "max_pixels must be a positive"),  # zero
        ({"min_pixels": -1}, "min_pixels must be a positive"),  # negative
        ({"max_pixels": "1024"}, "max_pixels must be a positive"),  # a string
        ({"max_pixels": True}, "max_pixels must be a positive"),  # a bool
        ({"total_pixels": float("inf")}, "total_pixels must be a positive"),  # infinite
        ({"max_pixels": float("nan")}, "max_pixels must be a positive"),  # NaN
    ],
)
def test_bad_image_budgets(rgb_image, budget, pattern):
    with pytest.raises(InputError, match=pattern):
        check_messages(image_message(rgb_image, "x", **budget))


def test_good_image_budget_passes(rgb_image):
    assert check_messages(image_message(rgb_image, "x", min_pixels=1024, max_pixels=4096))


@pytest.mark.parametrize(
    "role",
    [
        "User",  # capitalised
        "bot",  # not a role
        "human",  # another API's name
        None,  # missing value
        5,  # not a string
    ],
)
def test_roles_are_checked(role):
    with pytest.raises(InputError, match=r"messages\[0\]\['role'\].*'user'"):
        check_messages([{"role": role, "content": "Hi"}])


@pytest.mark.parametrize("role", ["system", "user", "assistant", "tool"])
def test_known_roles_pass(role):
    assert check_messages([{"role": role, "content": "Hi"}])[0]["role"] == role


class _ImageServer:
    """Serves one PNG, a 404, an HTML page, a slow drip and a big file on 127.0.0.1."""

    def __init__(self):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 32), (0, 200, 0)).save(buffer, format="PNG")
        png = buffer.getvalue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/missing.png":
                    self.send_error(404)
                    return
                body = {"/page.html": b"<html>not an image</html>", "/big.png": png * 50}.get(
                    self.path, png
                )
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 1 if self.path == "/drip.png" else len(body)):
                        self.wfile.write(
                            body[i : i + (1 if self.path == "/drip.png" else len(body))]
                        )
                        self.wfile.flush()
                        if self.path == "/drip.png":
                            time.sleep(0.05)
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def image_server(monkeypatch):
    monkeypatch.setattr(helpers.common.files, "URL_TIMEOUT_S", 1.0)
    monkeypatch.setattr(helpers.common.files, "URL_MAX_BYTES", 2_000)
    server = _ImageServer()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/missing.png", "404"),  # not found
        ("/page.html", "cannot be read as an image"),  # an HTML page
        ("/drip.png", "within 1 s"),  # a byte every 0.05 s: never done in time
        ("/big.png", "larger than 2,000 bytes"),  # too big
    ],
)
def test_bad_image_urls(image_server, path, pattern):
    start = time.monotonic()
    with pytest.raises(InputError, match=pattern):
        check_messages(image_message(image_server.url + path, "x"))
    assert time.monotonic() - start < 3


def test_server_that_never_answers(monkeypatch, tiny):
    monkeypatch.setattr(helpers.common.files, "URL_TIMEOUT_S", 1.0)
    _model, processor = tiny
    with socket.socket() as silent:  # connections are taken (backlog), never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/cat.png"
        start = time.monotonic()
        with pytest.raises(InputError, match=r"cat\.png.*could not be downloaded"):
            helpers.count_visual_tokens(processor, image_message(url, "x"))
        assert time.monotonic() - start < 3


def test_good_image_url_is_fetched_once(image_server):
    [item] = check_messages(image_message(image_server.url + "/ok.png", "x"))[0]["content"][:1]
    assert isinstance(item["image"], Image.Image) and item["image"].size == (64, 32)
    assert item["image"].getpixel((5, 5)) == (0, 200, 0)

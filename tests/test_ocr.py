import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.ocr import ocr_folder
from helpers.scoring import cer, normalize_text, wer


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("TOTAL 12.50", "TOTAL 12.50", 0.0),  # identical
        ("TOTAL 12.5O", "TOTAL 12.50", 1 / 11),  # one substitution in 11 characters
        ("TOTAL  12.50\n", "TOTAL\n12.50", 0.0),  # whitespace runs and ends do not count
        ("TOTAL", "TOTAL 12.50", 6 / 11),  # six characters missing
        ("", "abcd", 1.0),  # nothing read
        ("abcdabcd", "abcd", 1.0),  # four extra characters
        ("", "", 0.0),  # nothing to read, nothing read
        ("x", "", 1.0),  # nothing to read, something read
        ("Спасибо!", "Спасибо", 1 / 7),  # non-Latin: characters, not bytes
        ("谢谢惠顾", "谢谢光临", 0.5),  # CJK: two of four characters wrong
    ],
)
def test_cer(prediction, reference, expected):
    assert cer(prediction, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("CASH 20.00", "CASH 20.00", 0.0),  # identical
        ("CASH 2O.00", "CASH 20.00", 0.5),  # one of two words wrong
        ("CASH", "CASH 20.00 CHANGE 7.50", 0.75),  # three of four words missing
        ("a b c", "a c", 0.5),  # one inserted word over two
    ],
)
def test_wer(prediction, reference, expected):
    assert wer(prediction, reference) == pytest.approx(expected)


def test_normalize_text():
    assert normalize_text("  a\n\n b\t c  ") == "a b c"


@pytest.fixture
def receipts(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, color in enumerate(["red", "green", "blue"]):
        Image.new("RGB", (64 + 32 * i, 64), color).save(folder / f"{i}_img.png")
    (folder / "0_img.txt").write_text("known text")  # ground truth for one image only
    (folder / "3_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (folder / "notes.md").write_text("not an image")
    return folder


def test_ocr_folder_writes_resumes_and_reports(tiny, receipts, tmp_path):
    model, processor = tiny
    out = tmp_path / "out"
    with pytest.warns(UserWarning) as warned:
        table = ocr_folder(
            model, processor, receipts, out_dir=out, batch_size=2, max_new_tokens=5, progress=False
        )
    assert list(table["image"]) == ["0_img.png", "1_img.png", "2_img.png", "3_broken.jpg"]
    assert list(table["status"]) == ["done", "done", "done", "error"]
    assert sorted(p.name for p in out.iterdir()) == [
        "0_img.png.txt",
        "1_img.png.txt",
        "2_img.png.txt",
    ]
    assert "3_broken.jpg" in " ".join(str(w.message) for w in warned)
    assert "cannot be read" in table.loc[3, "error"]
    assert table.loc[0, "cer"] is not None and np.isnan(table.loc[1, "cer"])  # truth only for 0_img
    assert table.loc[0, "cer"] == pytest.approx(
        cer((out / "0_img.png.txt").read_text(), "known text"), abs=1e-4
    )

    def boom(*args, **kwargs):
        raise AssertionError("generate called although every image is done")

    model_generate = model.generate
    model.generate = boom
    try:
        again = ocr_folder(model, processor, receipts, out_dir=out, batch_size=2, progress=False)
    finally:
        model.generate = model_generate
    assert list(again["status"]) == ["cached", "cached", "cached", "error"]
    assert list(again["output"][:3]) == list(table["output"][:3])


def test_interrupted_run_keeps_finished_batches(tiny, receipts, tmp_path, monkeypatch):
    model, processor = tiny
    out = tmp_path / "out"
    calls = {"n": 0}
    real = helpers.ocr.chat_batch

    def fail_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(helpers.ocr, "chat_batch", fail_second)
    with pytest.raises(KeyboardInterrupt):
        ocr_folder(
            model, processor, receipts, out_dir=out, batch_size=2, max_new_tokens=4, progress=False
        )
    assert sorted(p.name for p in out.iterdir()) == [
        "0_img.png.txt",
        "1_img.png.txt",
    ]  # first batch kept, no temp files
    monkeypatch.setattr(helpers.ocr, "chat_batch", real)
    table = ocr_folder(
        model, processor, receipts, out_dir=out, batch_size=2, max_new_tokens=4, progress=False
    )
    assert list(table["status"]) == ["cached", "cached", "done", "error"]


def test_batching_gives_same_files_as_batch_size_one(tiny, receipts, tmp_path):
    model, processor = tiny
    one, four = tmp_path / "one", tmp_path / "four"
    ocr_folder(
        model, processor, receipts, out_dir=one, batch_size=1, max_new_tokens=6, progress=False
    )
    ocr_folder(
        model, processor, receipts, out_dir=four, batch_size=4, max_new_tokens=6, progress=False
    )
    for path in one.iterdir():
        assert (four / path.name).read_text() == path.read_text()


def _two_pages(folder):
    """page.png and page.jpg (different pictures, same stem), and the ground truth page.txt."""
    folder.mkdir(exist_ok=True)
    Image.new("RGB", (96, 64), "white").save(folder / "page.png")
    Image.new("RGB", (64, 96), "black").save(folder / "page.jpg")
    (folder / "page.txt").write_text("the true text", encoding="utf-8")


@pytest.mark.parametrize(
    "out_is_input",
    [
        False,  # a separate output folder
        True,  # outputs written into the image folder, beside the ground truth
    ],
)
def test_no_image_or_ground_truth_is_taken_for_another(tiny, tmp_path, out_is_input):
    model, processor = tiny
    folder = tmp_path / "pages"
    _two_pages(folder)
    out = folder if out_is_input else tmp_path / "out"
    table = ocr_folder(
        model, processor, folder, out_dir=out, max_new_tokens=4, min_new_tokens=4, progress=False
    )
    assert list(table["image"]) == ["page.jpg", "page.png"]
    assert list(table["status"]) == ["done", "done"]  # both run; no truth taken as an output
    assert (out / "page.png.txt").read_text() == table.loc[1, "output"]
    assert (out / "page.jpg.txt").read_text() == table.loc[0, "output"]
    assert (folder / "page.txt").read_text() == "the true text"  # the ground truth untouched
    assert table.loc[0, "cer"] == pytest.approx(
        cer(table.loc[0, "output"], "the true text"), abs=1e-4
    )
    again = ocr_folder(model, processor, folder, out_dir=out, progress=False)
    assert list(again["status"]) == ["cached", "cached"]
    assert list(again["output"]) == list(table["output"])


@pytest.mark.parametrize(
    ("name", "make", "pattern"),
    [
        # a 1x4000 strip: the model's resizing refuses it
        ("strip.png", lambda p: Image.new("RGB", (1, 4000)).save(p), "more than 200 times"),
        # a PNG header claiming 100000x100000 pixels
        ("bomb.png", lambda p: _png_bomb(p), "too large to open safely"),
        # an output path that is a folder
        (
            "taken.png",
            lambda p: (p.parent.parent / "out" / "taken.png.txt").mkdir(parents=True),
            "not a file",
        ),
    ],
)
def test_bad_image_is_skipped_with_a_reported_error(tiny, tmp_path, name, make, pattern):
    model, processor = tiny
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (64, 64), "white").save(folder / "good.png")
    if name == "taken.png":
        Image.new("RGB", (64, 64), "white").save(folder / name)
    make(folder / name)
    with pytest.warns(UserWarning, match=f"skipped {name}"):
        table = ocr_folder(
            model, processor, folder, out_dir=tmp_path / "out", max_new_tokens=3, progress=False
        )
    rows = dict(zip(table["image"], table["status"], strict=True))
    assert rows == {"good.png": "done", name: "error"}
    assert pattern in table.set_index("image").loc[name, "error"]


def _png_bomb(path):
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("setup", "pattern"),
    [
        # a ground truth saved as Latin-1: found before the model runs, not after
        (
            lambda f, o, mp: (f / "0_img.txt").write_bytes("caf\xe9".encode("latin-1")),
            r"0_img\.txt.*not UTF-8.*re-save",
        ),
        # a ground truth that is a folder
        (lambda f, o, mp: (f / "1_img.txt").mkdir(), r"1_img\.txt.*is a folder"),
        # out_dir is a file
        (lambda f, o, mp: o.write_text("x"), r"out_dir.*is a file"),
        # out_dir cannot be written (as when it is read-only)
        (
            lambda f, o, mp: mp.setattr(
                helpers.ocr.tempfile,
                "TemporaryFile",
                lambda **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied")),
            ),
            r"out_dir.*not writable.*Permission denied",
        ),
    ],
)
def test_problems_found_before_any_work(tiny, receipts, tmp_path, monkeypatch, setup, pattern):
    model, processor = tiny
    out = tmp_path / "out"
    setup(receipts, out, monkeypatch)
    monkeypatch.setattr(helpers.ocr, "chat_batch", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(helpers.InputError, match=pattern):
        ocr_folder(model, processor, receipts, out_dir=out, progress=False)


@pytest.mark.parametrize(
    ("pixels", "pattern"),
    [
        # below one visual token
        ({"max_pixels": 1000}, r"pixels: max_pixels \(1000\) is below one visual token"),
        # crossed
        ({"min_pixels": 8192, "max_pixels": 4096}, r"pixels: min_pixels \(8192\) is larger"),
        # a floor above the default ceiling
        ({"min_pixels": 10**8}, r"pixels: min_pixels \(100000000\) is above the default"),
        # not a number
        ({"max_pixels": "big"}, r"pixels: max_pixels must be a positive number"),
        # a key the budget does not have
        ({"max_pixel": 4096}, r"pixels: unknown keys \['max_pixel'\]"),
    ],
)
def test_bad_budget_found_before_any_work(tiny, receipts, tmp_path, monkeypatch, pixels, pattern):
    model, processor = tiny
    monkeypatch.setattr(helpers.ocr, "chat_batch", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(helpers.InputError, match=pattern):
        ocr_folder(model, processor, receipts, out_dir=tmp_path / "out", pixels=pixels)


def test_an_output_is_never_another_images_ground_truth(tiny, tmp_path):
    model, processor = tiny
    folder = tmp_path / "pages"
    folder.mkdir()
    Image.new("RGB", (64, 64), "white").save(folder / "page.png")
    Image.new("RGB", (64, 64), "black").save(folder / "page.png.png")  # its truth: page.png.txt
    ocr_folder(model, processor, folder, out_dir=folder, max_new_tokens=4, progress=False)
    with pytest.warns(UserWarning, match=r"page\.png\.txt is where the text of page\.png"):
        table = ocr_folder(model, processor, folder, out_dir=folder, progress=False)
    assert table["cer"].isna().all()  # no score against the model's own output


def test_ocr_folder_bad_folder(tiny, tmp_path):
    model, processor = tiny
    with pytest.raises(helpers.InputError, match="not a folder"):
        ocr_folder(model, processor, tmp_path / "nope", out_dir=tmp_path / "out")


def test_truncated_jpeg_is_rejected(tmp_path):
    path = tmp_path / "cut.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[:20_000])  # a header that parses, pixel data cut short
    with Image.open(path) as img:
        img.verify()  # a header check alone would pass this file
    with pytest.raises(helpers.InputError, match=r"cut\.jpg"):
        helpers.check_messages(helpers.image_message(path, "x"))


def test_cer_table_orders_rows_and_adds_the_mean():
    import pandas as pd

    plain = pd.DataFrame({"image": ["b.png", "a.png"], "cer": [0.5, 0.1]})
    markdown = pd.DataFrame({"image": ["a.png"], "cer": [0.3]})  # b.png failed: no score
    table = helpers.cer_table({"plain": plain, "md": markdown}, ["a.png", "b.png"], ["x", "y"])
    assert table["condition"].tolist() == ["x", "y", "mean"]
    assert table["plain CER"].tolist() == pytest.approx([0.1, 0.5, 0.3])
    assert table["md CER"].iloc[0] == 0.3 and np.isnan(table["md CER"].iloc[1])
    with pytest.raises(ValueError, match="one each"):
        helpers.cer_table({}, ["a.png"], [])


def test_compare_prompts_reuses_done_tables(tiny, tmp_path):
    import pandas as pd

    model, processor = tiny
    done = pd.DataFrame({"image": ["imageTextN.png"], "cer": [0.0]})
    tables = helpers.ocr.compare_prompts(
        model,
        processor,
        helpers.INPUT_DIR / "text",
        {"first": (helpers.OCR_PROMPT, False), "second": (helpers.MARKDOWN_PROMPT, True)},
        out_dir=tmp_path,
        done={"first": done},
        max_new_tokens=4,
        progress=False,
    )
    assert list(tables) == ["first", "second"] and tables["first"] is done
    assert (tmp_path / "second" / "imageTextN.png.txt").is_file()
    assert not (tmp_path / "first").exists()

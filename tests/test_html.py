import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.html import (
    extract_code_block,
    find_chromium,
    preview_html,
    render_html,
    render_html_file,
    sandboxed_iframe,
    save_html,
    with_csp,
)

PAGE = "<!DOCTYPE html>\n<html><body>Hi</body></html>"


@pytest.mark.parametrize(
    ("answer", "expected", "incomplete"),
    [
        # one fenced block with prose around it
        (f"Here is the page:\n```html\n{PAGE}\n```\nEnjoy!", PAGE, False),
        # several blocks: the last html one wins
        (f"```html\n<p>draft</p>\n```\nBetter:\n```html\n{PAGE}\n```", PAGE, False),
        # CSS block first, then the HTML block
        (f"```css\nbody {{ color: red; }}\n```\n```html\n{PAGE}\n```", PAGE, False),
        # upper-case fence tag
        (f"```HTML\n{PAGE}\n```", PAGE, False),
        # no fence: the <!DOCTYPE ...> ... </html> span
        (f"Sure! {PAGE} Let me know.", PAGE, False),
        # no fence, no doctype: <html> ... </html>
        (
            "Page: <html lang='en'><body>x</body></html> done",
            "<html lang='en'><body>x</body></html>",
            False,
        ),
        # cut off before the closing fence: what was written, flagged incomplete
        (
            "```html\n<!DOCTYPE html>\n<html><body><div>unfinished",
            "<!DOCTYPE html>\n<html><body><div>unfinished",
            True,
        ),
        # cut off without a fence and without </html>
        ("<!DOCTYPE html><html><body>half", "<!DOCTYPE html><html><body>half", True),
        # a thinking block before the answer
        (f"<think>Use a grid ```html <b>no</b>```</think>\n```html\n{PAGE}\n```", PAGE, False),
    ],
)
def test_extract_code_block(answer, expected, incomplete):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert extract_code_block(answer) == expected
    assert any("incomplete" in str(w.message) for w in caught) == incomplete


def test_extract_other_language():
    assert (
        extract_code_block("```python\nprint(1)\n```\n```html\n<p></p>\n```", "python")
        == "print(1)"
    )


@pytest.mark.parametrize("answer", ["I cannot draw that.", "```css\nbody {}\n```", ""])
def test_no_html_raises_with_the_answer_start(answer):
    with pytest.raises(ValueError, match="no html code found"):
        extract_code_block(answer)


def test_save_html(tmp_path):
    target = tmp_path / "deep" / "page.html"
    assert save_html("<p>é</p>", target) == target
    assert target.read_text(encoding="utf-8") == "<p>é</p>"
    save_html("<p>é</p>", target)  # same content: fine
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_html("<p>other</p>", target)
    assert target.read_text(encoding="utf-8") == "<p>é</p>"  # untouched
    save_html("<p>other</p>", target, overwrite=True)
    assert target.read_text(encoding="utf-8") == "<p>other</p>"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]  # no temporary files


def test_preview_is_sandboxed_and_escaped():
    page = '<html><body><script>parent.document.title = "pwned"</script><p class="x">a & b</p></body></html>'
    tag = sandboxed_iframe(page, allow_scripts=True)
    assert 'sandbox="allow-scripts"' in tag and "allow-same-origin" not in tag
    assert "<script>" not in tag and "&lt;script&gt;" in tag and "&quot;x&quot;" in tag
    assert tag.count("<iframe") == 1
    assert 'sandbox=""' in sandboxed_iframe(page)  # scripts are off unless asked for
    assert preview_html(page).data == sandboxed_iframe(page)


@pytest.mark.parametrize(
    ("page", "starts"),
    [
        # a doctype stays first (standards mode); the policy comes right after it
        ("<!DOCTYPE html><html><head></head></html>", "<!DOCTYPE html><meta http-equiv"),
        # leading white space and a lower-case doctype
        ("\n <!doctype html>\n<p>x</p>", "\n <!doctype html><meta http-equiv"),
        # no doctype: the policy is the very first thing
        ("<img src='http://example.com/a.png'>", "<meta http-equiv"),
        # a page's own permissive policy comes after ours (both are enforced)
        ("<meta http-equiv='Content-Security-Policy' content='default-src *'>", "<meta http-equiv"),
    ],
)
def test_preview_policy_comes_first(page, starts):
    framed = with_csp(page)
    assert framed.startswith(starts)
    assert framed.count("default-src &#x27;none&#x27;") == 1 and framed.endswith(
        page.lstrip()[-10:]
    )


needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium: `apt-get install chromium` (scripts/setup.sh does)",
)


@needs_chromium
def test_render_solid_red_page(tmp_path):
    png = render_html(
        "<html><body style='margin:0;background:#ff0000'></body></html>",
        tmp_path / "red.png",
        width=320,
        height=200,
    )
    image = Image.open(png).convert("RGB")
    assert image.size == (320, 200)
    assert np.all(np.asarray(image) == (255, 0, 0))


@needs_chromium
@pytest.mark.parametrize(
    "text",
    [
        # a model answer that is a path: rendered as the words, never opened
        "/etc/passwd",
        # a relative path
        "page.html",
        # a file URL
        "file:///etc/hostname",
    ],
)
def test_render_html_never_reads_a_path(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.html").write_text("<body style='background:#00ff00'>secret</body>")
    png = render_html(text, tmp_path / "p.png", width=200, height=100)
    # the page is the text in black on white: no green page, no file contents
    assert Image.open(png).convert("RGB").getpixel((150, 80)) == (255, 255, 255)


@pytest.mark.parametrize("value", [Path("/etc/passwd"), b"<p>bytes</p>", None])
def test_render_html_takes_only_text(value, tmp_path):
    with pytest.raises(TypeError, match="render_html_file"):
        render_html(value, tmp_path / "p.png")


@needs_chromium
def test_render_from_file_and_blocked_network(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><link rel='stylesheet' href='https://fonts.example.com/x.css'>"
        "<script src='http://192.0.2.1/slow.js'></script></head>"
        "<body style='margin:0;background:rgb(0,0,255)'><img src='https://example.com/a.png'></body></html>"
    )
    start = time.perf_counter()
    png = render_html_file(page, tmp_path / "blue.png", width=200, height=100)
    assert time.perf_counter() - start < 20  # blocked at once, not waiting for timeouts
    assert Image.open(png).convert("RGB").getpixel((150, 80)) == (0, 0, 255)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        # nothing there
        ("nope.html", "not found"),
        # a folder
        ("folder", "is a folder"),
    ],
)
def test_render_file_bad_path(name, message, tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(FileNotFoundError, match=message):
        render_html_file(tmp_path / name, tmp_path / "x.png")


def test_render_file_not_utf8(tmp_path):
    page = tmp_path / "latin1.html"
    page.write_bytes("<p>caf\u00e9</p>".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8.*re-save it as UTF-8"):
        render_html_file(page, tmp_path / "x.png")


@pytest.mark.parametrize(
    "answer",
    [
        "```" * 100_000,  # bare fences (minutes in a quadratic fence search)
        "```html" * 50_000,  # fences with the tag, no line break
        "<!DOCTYPE html" * 50_000,  # doctypes that never close
        "<html" * 60_000,  # tags that never close
    ],
)
def test_hostile_answers_do_not_hang(answer):
    # A guard against hangs, not a speed test (bench/parsers.py measures speed).
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = extract_code_block(answer)
        except ValueError as error:
            code = str(error)
    assert code and time.monotonic() - start < 10


SAMPLE = helpers.sample_page("<p>sample</p>")


@pytest.mark.parametrize(
    ("answer", "html", "is_sample"),
    [
        ("```html\n<p>Hi</p>\n```", "<p>Hi</p>", False),  # a fenced page: the answer's page
        ("Here:\n<!DOCTYPE html><html><p>Hi</p></html>\nDone.", None, False),  # bare page in prose
        ("I cannot write HTML.", "<p>sample</p>", True),  # no HTML: the sample, labelled
        ("", "<p>sample</p>", True),  # an empty answer: the sample
    ],
)
def test_page_from_answer(answer, html, is_sample):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = helpers.page_from_answer(answer, SAMPLE)
    assert page.is_sample is is_sample
    if html is not None:
        assert page.html == html
    else:
        assert page.html.startswith("<!DOCTYPE html>") and page.html.endswith("</html>")
    if is_sample:
        assert page.caption == f"no HTML in the answer: {helpers.html.SAMPLE_CAPTION}"
        assert any("Showing instead" in str(w.message) for w in caught)
    else:
        assert page.caption == "rendered from the answer"


def test_page_from_answer_keeps_the_previous_pages_label():
    previous = helpers.page_from_answer("```html\n<p>first</p>\n```", SAMPLE)
    with pytest.warns(UserWarning, match="Showing instead: rendered from the answer"):
        again = helpers.page_from_answer("no page this time", previous)
    assert again.html == "<p>first</p>" and not again.is_sample
    assert again.caption == "no HTML in the answer: rendered from the answer"


def test_preview_caption_is_visible_and_escaped():
    shown = preview_html(PAGE, caption="SAMPLE <b>page</b>").data
    assert shown.startswith("<div") and "SAMPLE &lt;b&gt;page&lt;/b&gt;" in shown
    assert shown.endswith(sandboxed_iframe(PAGE))


def test_no_browser_is_a_clear_error_naming_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(helpers.html, "find_chromium", lambda: None)
    monkeypatch.setenv(
        "PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none")
    )  # Playwright's own: absent
    with pytest.raises(
        helpers.BrowserMissingError, match="playwright install --with-deps chromium"
    ):
        render_html(PAGE, tmp_path / "page.png")
    with pytest.warns(UserWarning, match="no screenshot"):
        assert helpers.sketch.screenshot_or_none(PAGE, tmp_path / "page.png") is None


def test_side_by_side_shows_a_note_without_a_screenshot(tmp_path):
    sketch = helpers.INPUT_DIR / "sketch_chat.png"
    result = helpers.sketch.SketchPage(sketch, SAMPLE, tmp_path / "x.html", None)
    grid = helpers.side_by_side([result], tile_wh=(200, 120))
    assert grid.size == (402, 120)
    note = np.asarray(grid)[:, 202:]
    assert (note == 235).mean() > 0.5  # the grey note tile, not a black hole
    assert result.as_row() == {
        "sketch": "sketch_chat.png",
        "html_from_answer": False,
        "screenshot": False,
    }
    with pytest.raises(ValueError, match="one per result"):
        helpers.side_by_side([result], sketch_captions=["a", "b"])


@pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_save_page_writes_html_and_screenshot(tmp_path):
    page = helpers.page_from_answer("```html\n<body style='background:red'></body>\n```", SAMPLE)
    result = helpers.save_page("sketch_landing.png", page, tmp_path, screen_wh=(64, 48))
    assert result.html_path == tmp_path / "04_sketch_landing.html"
    assert result.html_path.read_text(encoding="utf-8") == page.html
    assert Image.open(result.screenshot).size == (64, 48)
    assert result.as_row() == {
        "sketch": "sketch_landing.png",
        "html_from_answer": True,
        "screenshot": True,
    }

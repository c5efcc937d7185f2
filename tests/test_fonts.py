import pytest
from PIL import Image, ImageDraw

from helpers.common import fonts

MISSING = "\U0010fffd"  # a private-use code point no font draws: its glyph is the "missing" box


def _ink(font, text):
    image = Image.new("L", (80, 80), 0)
    ImageDraw.Draw(image).text((10, 10), text, fill=255, font=font)
    return image.tobytes()


@pytest.fixture
def no_system_fonts(monkeypatch):
    """A machine without Noto/DejaVu installed: only matplotlib's bundled DejaVu Sans is left."""
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ("/nonexistent/font.ttf",))
    fonts.font_path.cache_clear()
    fonts.load_font.cache_clear()
    yield
    fonts.font_path.cache_clear()
    fonts.load_font.cache_clear()


@pytest.mark.parametrize(
    "text",
    [
        "Ж",  # Cyrillic
        "Ω",  # Greek
        "Å",  # Latin with a ring
        "ß",  # German sharp s
    ],
)
def test_fallback_font_draws_the_script(no_system_fonts, text):
    assert fonts.font_path() == fonts.bundled_font() is not None
    font = fonts.load_font(40)
    drawn = _ink(font, text)
    assert any(drawn)  # something was drawn
    assert drawn != _ink(font, MISSING)  # and it is not the missing-glyph box

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.common.errors import InputError, MissingInputError
from helpers.messages import check_messages, image_message


def test_missing_image_names_path_and_fix(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(MissingInputError, match=r"image not found: .*nope\.jpg.*INPUT_DIR"):
        check_messages(image_message(missing, "Describe."))


def test_missing_image_is_also_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        check_messages(image_message(tmp_path / "nope.jpg", "Describe."))


def test_folder_instead_of_image(tmp_path, rgb_image):
    with pytest.raises(InputError, match=r"is a folder.*red_blue\.png"):
        check_messages(image_message(tmp_path, "Describe."))


def test_corrupt_image(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(InputError, match=r"broken\.jpg.*cannot be read as an image.*re-save"):
        check_messages(image_message(bad, "Describe."))


def test_empty_video(tmp_path):
    empty = tmp_path / "clip.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"clip\.mp4.*empty"):
        check_messages([{"role": "user", "content": [{"type": "video", "video": str(empty)}]}])


@pytest.mark.parametrize(
    ("item", "pattern"),
    [
        ({"type": "audio", "audio": "x.wav"}, r"unsupported content item.*'audio'"),  # unknown kind
        ("just a string", r"must be a dict"),  # bare string inside a content list
        ({"type": "text", "text": 3}, r"needs a string under 'text'"),  # text not a string
        (
            {"type": "image", "image": 42},
            r"PIL image or an HxW, HxWx3 or HxWx4 array",
        ),  # not an image
        ({"type": "video", "video": 42}, r"file path or a list of frames"),  # not a video
        ({"type": "video", "video": []}, r"frame list is empty"),  # empty frame list
    ],
)
def test_bad_items_name_the_item(item, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        check_messages([{"role": "user", "content": [item]}])
    assert "messages[0]['content'][0]" in str(info.value)


@pytest.mark.parametrize(
    "messages",
    [
        [],  # empty conversation
        "Describe this.",  # a bare string
        [{"content": "hi"}],  # no role
        [{"role": "user", "content": 5}],  # content neither str nor list
    ],
)
def test_bad_conversations(messages):
    with pytest.raises(InputError):
        check_messages(messages)


def test_valid_inputs_are_normalised(rgb_image):
    array = np.zeros((8, 8, 3), np.uint8)
    checked = check_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": rgb_image},  # pathlib.Path becomes str
                    {"type": "image", "image": array},  # array becomes PIL
                    {"type": "video", "video": [array, array]},  # frames become PIL
                    {"type": "text", "text": "Compare."},
                ],
            },
            {"role": "assistant", "content": "Sure."},  # str content becomes a text item
        ]
    )
    items = checked[0]["content"]
    assert items[0]["image"] == str(rgb_image)
    assert isinstance(items[1]["image"], Image.Image)
    assert all(isinstance(f, Image.Image) for f in items[2]["video"])
    assert checked[1]["content"] == [{"type": "text", "text": "Sure."}]


def test_exif_rotated_photo_is_passed_upright(tmp_path):
    wide = Image.new("RGB", (60, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: the camera says "rotate 90 degrees clockwise"
    path = tmp_path / "phone.jpg"
    wide.save(path, exif=exif)
    [item] = check_messages(image_message(path, "x"))[0]["content"][:1]
    assert isinstance(item["image"], Image.Image) and item["image"].size == (20, 60)
    assert helpers.load_image(path).size == (20, 60)


def test_plain_photo_stays_a_path(rgb_image):
    assert check_messages(image_message(rgb_image, "x"))[0]["content"][0]["image"] == str(rgb_image)


def test_checked_conversation_is_not_checked_again(rgb_image, monkeypatch):
    checked = check_messages(image_message(rgb_image, "x"))
    monkeypatch.setattr(
        helpers.messages, "load_image", lambda *a, **k: pytest.fail("image decoded twice")
    )
    assert check_messages(checked) is checked

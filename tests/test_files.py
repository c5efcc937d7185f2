import os
import stat

import pytest

from helpers.common.files import write_atomic


@pytest.mark.parametrize(
    ("umask", "existing_mode"),
    [
        (0o022, None),  # the usual umask, a new file: 0644 like a plain write
        (0o002, None),  # a group-writable umask: 0664
        (0o077, None),  # a private umask: 0600
        (0o022, 0o640),  # replacing a file keeps its mode
        (0o022, 0o755),  # an executable stays executable
    ],
)
def test_mode_matches_a_plain_write(tmp_path, umask, existing_mode):
    old = os.umask(umask)
    try:
        plain, atomic = tmp_path / "plain.txt", tmp_path / "atomic.txt"
        if existing_mode is not None:
            for path in (plain, atomic):
                path.write_text("old")
                path.chmod(existing_mode)
        with open(plain, "w") as handle:
            handle.write("new")
        write_atomic(atomic, "new")
    finally:
        os.umask(old)
    assert atomic.read_text() == "new"
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.txt", "plain.txt"]

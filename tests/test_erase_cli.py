"""`manage.py erase IN_DIR OUT_DIR`: a progress bar, JPEG stays JPEG, bad files are listed at the end."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.test_erase_api import PRINTED_BOX, PROMO_BOX, make_erase_photo, red_pixels, region


def test_it_erases_a_folder_and_lists_the_files_it_skipped(tmp_path):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    (source / "mug.png").write_bytes(make_erase_photo())
    (source / "broken.jpg").write_bytes(b"not a picture")
    (source / "notes.txt").write_text("ignored")
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("erase", str(source), str(out), "--background", "1,2,3,4", stdout=stdout, stderr=stderr)
    assert "1 of 2 images written" in stdout.getvalue()
    assert "broken.jpg: The file is not an image" in stdout.getvalue()
    assert "2/2" in stderr.getvalue()  # the progress bar
    assert sorted(path.name for path in out.iterdir()) == ["mug.png"]
    before = np.asarray(Image.open(source / "mug.png").convert("RGB"))
    after = np.asarray(Image.open(out / "mug.png").convert("RGB"))
    assert red_pixels(region(after, PROMO_BOX)) < 20 < red_pixels(region(before, PROMO_BOX))
    assert np.array_equal(region(after, PRINTED_BOX), region(before, PRINTED_BOX))  # --product none


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--product", "1,7"], "--product"),
        (["--product", "none", "--background", "none"], "Nothing to erase"),
    ],
)
def test_it_refuses_bad_type_options(tmp_path, options, message):
    (tmp_path / "a.png").write_bytes(make_erase_photo(promo=False))
    with pytest.raises(CommandError, match=message):
        call_command("erase", str(tmp_path), str(tmp_path / "out"), *options)

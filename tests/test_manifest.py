"""BatchEntry: one manifest entry checked by pydantic, every error naming `requests[i].key`."""

from __future__ import annotations

import pytest

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.manifest import BatchEntry


def test_entries_coerce_what_csv_cells_hold():
    entry = BatchEntry.parse({"prompt": "a fox", "seconds": "4", "attempt": "", "size": ""}, 0)
    assert (entry.prompt, entry.seconds, entry.attempt, entry.size) == ("a fox", 4, None, None)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"prompt": "x", "seconds": "4.5"}, "requests[2].seconds"),
        ({"prompt": "x", "seconds": 4.5}, "requests[2].seconds"),
        ({"prompt": "x", "attempt": "first"}, "requests[2].attempt"),
        ({"prompt": "x", "params": "seed=1"}, "requests[2].params"),
        ({"prompt": ""}, "requests[2].prompt"),
        ({"prompt": "x", "colour": "red"}, "requests[2]"),
        (["not", "a", "dict"], "requests[2]"),
    ],
)
def test_bad_entries_name_the_entry_and_key(entry, field):
    with pytest.raises(InvalidRequestError) as info:
        BatchEntry.parse(entry, 2)
    assert info.value.field == field


def test_to_request_uses_the_batch_defaults(tmp_path):
    entry = BatchEntry.parse({"prompt": "a fox", "seconds": 2, "size": "64x64"}, 0)
    request = entry.to_request(default_model="emu-video")
    assert (request.model, request.seconds, request.size) == ("emu-video", 2, "64x64")

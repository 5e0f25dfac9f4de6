"""`name=value` arguments of the flows/ entrypoint scripts."""

import pytest

from prefect_videogen.cli import flow_parameters


def test_values_are_strings_unless_json_objects_or_lists():
    parameters = flow_parameters(["prompt=a=b", 'params={"seed": 7}', "frames=[1, 2]", "seconds=4"])
    assert parameters == {"prompt": "a=b", "params": {"seed": 7}, "frames": [1, 2], "seconds": "4"}


def test_an_argument_without_equals_is_refused():
    with pytest.raises(SystemExit, match="expected name=value"):
        flow_parameters(["prompt"])

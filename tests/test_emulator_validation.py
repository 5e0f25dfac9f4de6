"""The emulator refuses what the official schema and real servers refuse, in every dialect.

Wrong JSON types (`"model": [1]`, `"size": null`, objects where strings belong) and prompts
over the family's documented length, for create and remix, with each dialect's error shape.
"""

from __future__ import annotations

import httpx
import pytest

from prefect_videogen.emulator import get_stats, run_emulator
from prefect_videogen.emulator.validation import max_prompt_chars
from tests.plugins.emulator_fixtures import AUTH, FAST, wait_for

DIALECTS = ["openai", "gateway", "seed"]


@pytest.fixture(scope="module")
def servers():
    """One emulator per dialect for the module (refusals create no jobs)."""
    with (
        run_emulator(dialect="openai", **FAST) as openai,
        run_emulator(dialect="gateway", **FAST) as gateway,
        run_emulator(dialect="seed", **FAST) as seed,
    ):
        yield {"openai": openai, "gateway": gateway, "seed": seed}


@pytest.fixture(params=DIALECTS)
def server(request, servers) -> tuple[str, str]:
    return request.param, servers[request.param]


def _submissions(base_url: str) -> int:
    return get_stats(base_url)["submissions"]


def _error(dialect: str, response: httpx.Response) -> tuple[str, str]:
    """(code, message) from each dialect's error shape."""
    body = response.json()
    if dialect == "gateway":
        assert body["data"] is None
        return body["code"], body["message"]
    return body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "got"),
    [
        ({"model": [1], "prompt": "p"}, "model", "an array"),
        ({"model": {"name": "sora-2"}, "prompt": "p"}, "model", "an object"),
        ({"model": "sora-2", "prompt": "p", "size": None}, "size", "null"),
        ({"model": "sora-2", "prompt": ["p"]}, "prompt", "an array"),
        ({"model": "sora-2", "prompt": "p", "seconds": {"value": 4}}, "seconds", "an object"),
        ({"model": "sora-2", "prompt": "p", "seconds": True}, "seconds", "a boolean"),
        ({"model": "kling-v1", "prompt": "p", "image": {"url": "x"}}, "image", "an object"),
        ({"model": "vidu1.5", "prompt": "p", "images": [1]}, "images[0]", "a number"),
        ({"model": "wan2.5-t2v-preview", "prompt": "p", "metadata": [1]}, "metadata", "an array"),
    ],
)
def test_wrong_json_types_are_refused(server, body, field, got):
    dialect, base_url = server
    before = _submissions(base_url)
    response = httpx.post(f"{base_url}/videos", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 400, response.text
    code, message = _error(dialect, response)
    assert code == ("invalid_request" if dialect == "gateway" else "invalid_type")
    assert f"Invalid type for '{field}'" in message and got in message
    assert _submissions(base_url) == before


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        ("sora-2", 32000),
        ("wan2.2-i2v-flash", 800),
        ("wan2.5-t2v-preview", 1500),
        ("kling-v1", 2500),
        ("viduq1", 1500),
        ("viduq2", 2000),
        ("MiniMax-Hailuo-2.3", 2000),
        ("veo-3.0-generate-001", 4000),
    ],
)
def test_prompts_over_the_documented_length_are_refused(servers, model, limit):
    assert max_prompt_chars(_family(model), model) == limit
    for dialect in ("openai", "gateway"):
        base_url = servers[dialect]
        before = _submissions(base_url)
        body = {"model": model, "prompt": "a" * (limit + 1)}
        response = httpx.post(f"{base_url}/videos", json=body, headers=AUTH, timeout=10)
        assert response.status_code == 400, response.text
        code, message = _error(dialect, response)
        assert str(limit) in message
        if dialect == "gateway":
            assert code == "fail_to_fetch_task"  # the provider refused it upstream
        assert _submissions(base_url) == before


def _family(model: str) -> str:
    from prefect_videogen.emulator.validation import family_of

    return family_of(model)


def test_a_prompt_at_the_limit_is_accepted(servers):
    base_url = servers["gateway"]
    body = {"model": "kling-v1", "prompt": "a" * 2500, "size": "1280x720"}
    response = httpx.post(f"{base_url}/videos", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("dialect", ["openai", "seed"])
def test_remix_checks_its_prompt_type_and_length(servers, dialect):
    base_url = servers[dialect]
    with httpx.Client(timeout=10) as http:
        created = http.post(
            f"{base_url}/videos", json={"model": "sora-2", "prompt": "p"}, headers=AUTH
        )
        source = wait_for(http, base_url, created.json()["id"])
        for prompt, words in (([1], "Invalid type for 'prompt'"), ("a" * 32001, "32000")):
            response = http.post(
                f"{base_url}/videos/{source['id']}/remix", json={"prompt": prompt}, headers=AUTH
            )
            assert response.status_code == 400, response.text
            assert words in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"model": "MiniMax-Hailuo-2.3", "duration": 8}, "allowed: 6, 10"),
        ({"model": "MiniMax-Hailuo-2.3", "duration": 10, "size": "1920x1080"}, "1080P"),
        ({"model": "T2V-01", "duration": 10}, "allowed: 6"),
        ({"model": "veo-3.0-generate-001", "duration": 5}, "4, 6, 8"),
        ({"model": "doubao-seedance-2-0-260128", "metadata": {"duration": 3}}, "4 to 15"),
        ({"model": "doubao-seedance-1-0-pro-250528", "metadata": {"duration": 13}}, "2 to 12"),
        ({"model": "wan2.7-t2v", "size": "832*480"}, "480P"),
        ({"model": "wan2.7-i2v", "size": "480P", "image": "http://127.0.0.1/x.png"}, "480P"),
    ],
)
def test_the_gateway_refuses_what_each_provider_refuses(servers, body, words):
    base_url = servers["gateway"]
    before = _submissions(base_url)
    response = httpx.post(
        f"{base_url}/videos", json={"prompt": "p", **body}, headers=AUTH, timeout=10
    )
    assert response.status_code in (400, 500), response.text
    assert words in response.json()["message"]
    assert _submissions(base_url) == before

"""Registry failures, real ones: missing tags and repositories, a registry that is down, and
faults injected by a loopback proxy in front of the real registry. No card changes on failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pinhelpers import ProxyHandler, Registry, free_port, write_card

pytestmark = pytest.mark.registry


def one_image_card(directory: Path, image: str, name: str = "app") -> tuple[Path, str]:
    text = f"# owner's comment\nname: {name}\nimage: {image}   # the image\nreplicas: 2\n"
    return write_card(directory, f"{name}.service.yaml", text), text


def fail_first(status: int, count: int = 1, headers: dict[str, str] | None = None):
    """An intercept answering the first `count` manifest requests with `status`."""
    remaining = [count]

    def intercept(handler: ProxyHandler) -> bool:
        if "/manifests/" in handler.path and remaining[0] > 0:
            remaining[0] -= 1
            handler.answer(status, headers or {})
            return True
        return False

    return intercept


def test_unknown_tag(registry: Registry, shipcard, tmp_path: Path) -> None:
    registry.push_image("fail/known", "1.0")
    card, text = one_image_card(tmp_path, f"{registry.host}/fail/known:9.9.9")

    run = shipcard(str(card))

    assert run.code == 2
    assert (f"{card}:3:8: image: {registry.host}/fail/known:9.9.9: not found: "
            f"no tag 9.9.9 in repository fail/known at {registry.host} (404)") in run.stderr
    assert "no file was changed" in run.stderr
    assert card.read_text() == text


def test_unknown_repository(registry: Registry, shipcard, tmp_path: Path) -> None:
    card, text = one_image_card(tmp_path, f"{registry.host}/fail/never-pushed:1.0")

    run = shipcard(str(card))

    assert run.code == 2
    assert f"not found: no repository fail/never-pushed at {registry.host} (404)" in run.stderr
    assert card.read_text() == text


def test_registry_down(shipcard, tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    card, text = one_image_card(tmp_path, f"{host}/fail/app:1.0")

    run = shipcard(str(card))

    assert run.code == 2
    assert f"{card}:3:8: image: {host}/fail/app:1.0: unreachable: connection refused by http://{host}" in run.stderr
    assert card.read_text() == text


def test_500_then_200_is_retried(registry: Registry, shipcard, make_proxy, tmp_path: Path) -> None:
    digest = registry.push_image("fail/flaky", "1.0")
    proxy = make_proxy(registry.host)
    proxy.intercept = fail_first(500)
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/flaky:1.0")

    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert proxy.count("GET") == 2
    assert card.read_text() == text.replace(":1.0 ", f":1.0@{digest} ")


def test_429_honours_retry_after(registry: Registry, shipcard, make_proxy, tmp_path: Path) -> None:
    digest = registry.push_image("fail/limited", "1.0")
    proxy = make_proxy(registry.host)
    proxy.intercept = fail_first(429, headers={"Retry-After": "1"})
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/limited:1.0")

    started = time.monotonic()
    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert time.monotonic() - started >= 1.0
    assert proxy.count("GET") == 2
    assert card.read_text() == text.replace(":1.0 ", f":1.0@{digest} ")


def test_persistent_429_fails_as_rate_limited(registry: Registry, shipcard, make_proxy, tmp_path: Path) -> None:
    registry.push_image("fail/throttled", "1.0")
    proxy = make_proxy(registry.host)
    proxy.intercept = fail_first(429, count=100, headers={"Retry-After": "0"})
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/throttled:1.0")

    run = shipcard("--retries", "2", str(card))

    assert run.code == 2
    assert "rate limited: fail/throttled:1.0 at" in run.stderr
    assert proxy.count("GET") == 3  # the first try and two retries, then it stops
    assert card.read_text() == text


def test_persistent_503_gives_up(registry: Registry, shipcard, make_proxy, tmp_path: Path) -> None:
    proxy = make_proxy(registry.host)
    proxy.intercept = fail_first(503, count=100, headers={"Retry-After": "0"})
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/down:1.0")

    run = shipcard("--retries", "1", str(card))

    assert run.code == 2
    assert "registry error: fail/down:1.0 at" in run.stderr and "answered 503 after retries" in run.stderr
    assert card.read_text() == text


def test_missing_digest_header_falls_back_to_hashing_the_manifest(registry: Registry, shipcard, make_proxy,
                                                                  tmp_path: Path) -> None:
    digest = registry.push_index("fail/no-header", "1.0")
    proxy = make_proxy(registry.host)

    def strip_digest(method, path, status, headers, body):
        return status, {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}, body

    proxy.rewrite = strip_digest
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/no-header:1.0")

    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert proxy.count("GET") == 1
    assert card.read_text() == text.replace(":1.0 ", f":1.0@{digest} ")


def test_wrong_digest_header_on_the_fetched_manifest_is_refused(registry: Registry, shipcard, make_proxy,
                                                                 tmp_path: Path) -> None:
    digest = registry.push_image("fail/lying", "1.0")
    wrong = "sha256:" + "0" * 64
    proxy = make_proxy(registry.host)

    def lie(method, path, status, headers, body):
        headers = {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}
        if method == "GET":
            headers["Docker-Content-Digest"] = wrong
        return status, headers, body

    proxy.rewrite = lie
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/lying:1.0")

    run = shipcard(str(card))

    assert run.code == 2
    assert f"bad response: fail/lying:1.0 at {proxy.host}: the registry says the manifest digest is {wrong} " \
           f"but the manifest it sent hashes to {digest}" in run.stderr
    assert card.read_text() == text


def test_timeout(registry: Registry, shipcard, make_proxy, tmp_path: Path) -> None:
    proxy = make_proxy(registry.host)

    def stall(handler: ProxyHandler) -> bool:
        time.sleep(3)
        return False

    proxy.intercept = stall
    card, text = one_image_card(tmp_path, f"{proxy.host}/fail/slow:1.0")

    run = shipcard("--timeout", "0.5", "--retries", "0", str(card))

    assert run.code == 2
    assert f"timed out: no answer from http://{proxy.host}" in run.stderr
    assert card.read_text() == text


def test_all_or_nothing_across_cards_and_keep_going(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("fail/good", "1.0")
    good, good_text = one_image_card(tmp_path, f"{registry.host}/fail/good:1.0", name="good")
    bad, bad_text = one_image_card(tmp_path, f"{registry.host}/fail/good:missing", name="bad")

    run = shipcard(str(good), str(bad))

    assert run.code == 2
    assert f"{bad}:3:8:" in run.stderr and "no file was changed" in run.stderr
    assert good.read_text() == good_text and bad.read_text() == bad_text

    partial = shipcard("--keep-going", str(good), str(bad))

    assert partial.code == 1
    assert good.read_text() == good_text.replace(":1.0 ", f":1.0@{digest} ")
    assert bad.read_text() == bad_text
    assert f"{bad}:3:8: image: {registry.host}/fail/good:missing: not found" in partial.stderr
    assert "1 image reference(s) could not be pinned; the others were" in partial.stderr


def test_invalid_reference_is_reported_with_its_line(shipcard, tmp_path: Path) -> None:
    card, text = one_image_card(tmp_path, "Registry.Example/UPPER:1.0")

    run = shipcard(str(card))

    assert run.code == 2
    assert f"{card}:3:8: image: 'Registry.Example/UPPER:1.0' is not an image reference" in run.stderr
    assert card.read_text() == text

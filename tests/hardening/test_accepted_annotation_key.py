"""Class 15: `health.liveness: {none: …}` writes the annotation `shipcard.io/ignore.<service>` on the
Deployment. The API server holds an annotation key's name part (after the prefix) to 63 characters
(apimachinery `ValidateAnnotations` → `IsQualifiedName`: "name part must be no more than 63
characters"), so a service name of 57 to 61 characters (61: the longest an Application `<name>-<env>`
allows) rendered a Deployment the cluster refuses, with `render` and `check` both silent. It is now a
card error at the field, nothing written; 56 characters render.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: {name}
image: ghcr.io/example/shell:1.0.0
command: [sleep, infinity]
{health}environments:
  p:{env}
gitops:
  repoURL: https://github.com/example/gitops.git
"""
BASE = "health:\n  liveness: {none: nothing to probe}\n"
IN_ENV = "\n    health:\n      liveness: {none: nothing to probe}"


def _message(name: str) -> str:
    return (f"health.liveness.none: accepting no liveness probe writes the annotation shipcard.io/ignore.{name}, "
            f"whose name part is {len(name) + 7} characters, over the API server's 63: give the service a name "
            "of at most 56 characters, or a liveness probe")


@pytest.mark.parametrize("name, health, env, where", [
    pytest.param("a" * 57, BASE, " {}", "7:14", id="57-characters"),
    pytest.param("b" * 61, BASE, " {}", "7:14", id="61-characters"),
    pytest.param("c" * 57, "", IN_ENV, "9:18", id="57-characters-in-an-environment"),
])
def test_an_accepted_missing_probe_whose_annotation_key_is_too_long_is_a_card_error(
        tmp_path: Path, name: str, health: str, env: str, where: str) -> None:
    card = tmp_path / "svc.service.yaml"
    card.write_text(CARD.format(name=name, health=health, env=env), encoding="utf-8")
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    prefix = "environments.p." if env != " {}" else ""
    assert (result.exit_code, result.stderr) == (2, f"shipcard: {card}:{where}: {prefix}{_message(name)}\n")
    assert not (tmp_path / "out").exists()


def test_a_name_of_56_characters_renders_a_valid_key(tmp_path: Path) -> None:
    card = tmp_path / "svc.service.yaml"
    card.write_text(CARD.format(name="d" * 56, health=BASE, env=" {}"), encoding="utf-8")
    assert run_cli("render", str(card), "--out", str(tmp_path / "out")).exit_code == 0
    text = (tmp_path / "out/apps" / ("d" * 56) / "base/deployment.yaml").read_text(encoding="utf-8")
    key = "shipcard.io/ignore." + "d" * 56
    assert f"    {key}: 'liveness-probe-missing: nothing to probe'\n" in text
    assert len(key.split("/", 1)[1]) == 63

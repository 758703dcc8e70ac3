"""Issue 12: shipcard.yaml, its `check:` section included, is parsed and validated once, by one schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shipcard.settings import CheckSettings, IgnoreSetting, find_repo_root, load_repo
from tests.conftest import example_cards, run_cli

WEB = next(c for c in example_cards() if c.name == "web-frontend.service.yaml")


def repository(tmp_path: Path, settings: str) -> Path:
    (tmp_path / ".git").mkdir(parents=True)
    (tmp_path / "shipcard.yaml").write_text(settings)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / WEB.name).write_text(WEB.read_text())
    return tmp_path


BAD = [
    ("check:\n  fail-on: sometimes\n", "2:3: check.fail-on: must be one of error, warning, info"),
    ("check:\n  fial-on: error\n", "2:3: check.fial-on: unknown field (did you mean 'fail-on'?)"),
    ("check:\n  strict-kinds: yes please\n", "2:3: check.strict-kinds: must be boolean, not a string"),
    ("check:\n  ignore:\n    - rule: x\n      reson: typo\n",
     "4:7: check.ignore[0].reson: unknown field (did you mean 'reason'?)"),
    ("check:\n  ignore:\n    - {reason: why}\n",
     "3:7: check.ignore[0]: needs `rule:` or `rules:` (rule IDs, globs allowed)"),
    ("check:\n  ignore:\n    - {rule: x, reason: y, expires: soon}\n",
     "3:28: check.ignore[0].expires: must be a date such as 2026-06-30"),
    ("check:\n  policy-dirs: [../elsewhere]\n",
     "2:17: check.policy-dirs[0]: must be a directory inside the repository"),
    ('kubernetesVersion: "1.3x"\n', "1:1: kubernetesVersion: '1.3x' is not a Kubernetes version such as \"1.31\""),
    ("kubernetesVersion: 1.30  # the cluster\n",
     '1:1: kubernetesVersion: write the version as a string, such as "1.30" (a number loses trailing zeros)'),
    ("network:\n  vpcCIDR: 10.0.0/16\n", "2:3: network.vpcCIDR: '10.0.0/16' is not an address block such as "
                                        "10.0.0.0/16"),
    ("network:\n  ingressController: {namespace: Ingress}\n",
     "2:23: network.ingressController.namespace: 'Ingress' is not a DNS-1123 label (lower case letters, digits "
     "and '-', starting and ending with a letter or digit)"),
    ("network:\n  ingressController: {podLabels: {/app: nginx}}\n",
     "2:35: network.ingressController.podLabels./app: label key '/app' has an empty prefix before '/'"),
]


@pytest.mark.parametrize("command", ["render", "check"])
@pytest.mark.parametrize("settings,where", BAD, ids=[b[1].split(": ")[1] for b in BAD])
def test_a_bad_setting_is_one_line_exit_2_for_every_command(tmp_path: Path, command: str, settings: str,
                                                              where: str) -> None:
    root = repository(tmp_path, settings)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = run_cli(command, cwd=root)
    assert result.exit_code == 2
    assert result.stderr == f"shipcard: {root / 'shipcard.yaml'}:{where}\n"
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written, not even a lock


def test_the_check_section_is_read_into_the_one_model(tmp_path: Path) -> None:
    root = repository(tmp_path, 'kubernetesVersion: "v1.30"\ncheck:\n  fail-on: warning\n  strict-kinds: true\n'
                                "  crd-dirs: [crds]\n  required: [run-as-root]\n  ignore:\n"
                                "    - rules: [image-*]\n      path: apps/**\n      reason: ' vendor images '\n"
                                "      expires: 2030-01-31\n    - {rule: pdb-missing, kind: Deployment}\n")
    settings = load_repo(root)
    assert settings.kubernetes_version == (1, 30)
    assert settings.check == CheckSettings(
        fail_on="warning", strict_kinds=True, crd_dirs=(root.resolve() / "crds",), required=frozenset({"run-as-root"}),
        ignores=(IgnoreSetting(rules=("image-*",), reason="vendor images", line=8, path="apps/**",
                               expires=dt.date(2030, 1, 31)),
                 IgnoreSetting(rules=("pdb-missing",), reason="", line=12, kind="Deployment")))


def test_the_check_section_does_not_change_what_render_writes(tmp_path: Path) -> None:
    one = load_repo(repository(tmp_path / "a", "check: {fail-on: warning}\n")).fingerprint
    other = load_repo(repository(tmp_path / "b", "check: {fail-on: error}\n")).fingerprint
    version = load_repo(repository(tmp_path / "c", 'kubernetesVersion: "1.30"\ncheck: {fail-on: error}\n')).fingerprint
    assert one == other != version


def test_the_root_is_the_nearest_settings_file_inside_the_work_tree(tmp_path: Path) -> None:
    (tmp_path / "shipcard.yaml").write_text("{}\n")
    inner = tmp_path / "repo"
    (inner / "services" / "deep").mkdir(parents=True)
    assert find_repo_root(inner / "services" / "deep") == tmp_path
    (inner / ".git").mkdir()
    assert find_repo_root(inner / "services" / "deep") is None  # never above the git work tree
    (inner / "shipcard.yaml").write_text("{}\n")
    assert find_repo_root(inner / "services" / "deep") == inner

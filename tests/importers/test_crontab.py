"""Issue 17: `shipcard import crontab` — a batch server's crontab as one card of CronJobs: names derived and
unique, CRON_TZ kept, env lines as env (secret-looking ones as references), @reboot and % refused."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from shipcard.yamlio.read import load_plain
from tests.importers.helpers import FIXTURES, every_output, render_build_check, setup, shipcard_import, written

CRONTAB = "../legacy/batch01.crontab"
IMAGE = "ghcr.io/example/shop-batch:2024.11.1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return setup(tmp_path, FIXTURES / "batch01.crontab")


def test_every_line_is_a_job_with_a_derived_unique_name(repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = shipcard_import(repo, "crontab", CRONTAB, "--image", IMAGE, "--report", str(report))
    card = (repo / "services/batch01.service.yaml").read_text()
    assert card.startswith(f"""\
# Imported by `shipcard import` from {CRONTAB}: each comment names where the value came from.
apiVersion: shipcard/v1
kind: Service
name: batch01  # from {CRONTAB}:1 crontab
image: {IMAGE} # from the command line --image
env:
  SHOP_ENV: production  # from {CRONTAB}:6 SHOP_ENV
  REPORTS_BUCKET: s3://example-shop-reports # from {CRONTAB}:7 REPORTS_BUCKET
secrets:
  provider: aws-secrets-manager
  store: fill-in-secret-store
  env:
    DB_PASSWORD: fill-in/batch01/DB_PASSWORD  # from {CRONTAB}:8 DB_PASSWORD
jobs:
  - name: export-orders  # from {CRONTAB}:11 schedule
    schedule: 15 2 * * *
    timeZone: Europe/Berlin # from {CRONTAB}:5 CRON_TZ
    command: # from {CRONTAB}:11 command
      - /bin/bash
      - -c
      - cd /srv/shop && nice -n 10 python3 jobs/export_orders.py --since yesterday >> /var/log/shop/export.log 2>&1
  - name: export-orders-2  # from {CRONTAB}:12 schedule
""")
    jobs = load_plain(card)["jobs"]
    assert [(j["name"], j["schedule"], j["timeZone"]) for j in jobs] == [
        ("export-orders", "15 2 * * *", "Europe/Berlin"),
        ("export-orders-2", "45 2 * * 1-5", "Europe/Berlin"),
        ("sync-inventory", "*/10 * * * *", "Europe/Berlin"),
        ("queue-prune-failed", "0 */4 * * *", "Europe/Berlin"),
        ("rotate-uploads", "@daily", "Europe/Berlin"),
        ("weekly-report", "0 6 * * 0", "Europe/Berlin"),  # cron's 7 for Sunday, as Kubernetes reads it
        ("invoice-run", "30 1 1 * *", "Europe/Berlin"),
        ("sync-inventory-2", "0 9 * * 1-5", "America/New_York"),  # the second CRON_TZ
    ]
    assert jobs[6]["command"] == ["/bin/bash", "-c", "/usr/local/bin/invoice-run --date=$(date +%Y-%m)"]  # \% is %
    notes = [(n["line"], n["field"], n["reason"]) for n in json.loads(report.read_text())["notes"]]
    assert [(line, field) for line, field, _ in notes] == [
        (3, "MAILTO"), (4, "PATH"), (8, "DB_PASSWORD"), (11, "command"), (16, "schedule"), (17, "schedule"),
        (19, "command"), (11, "jobs")]
    assert notes[5][2] == "@reboot has no CronJob equivalent (a job at start-up): not imported"
    assert notes[6][2] == ("% makes the rest of the line the command's standard input, which a CronJob cannot "
                           "give: not imported (move the input into a script)")
    everything = every_output(result, repo, report)
    assert "correct-horse-battery" not in everything and "secret-password-on-stdin" not in everything


@pytest.mark.kubectl
def test_the_crontab_card_renders_builds_and_checks_clean(repo: Path, kubectl: str) -> None:
    shipcard_import(repo, "crontab", CRONTAB, "--image", IMAGE)
    built, findings = render_build_check(repo, kubectl)
    crons = {o["metadata"]["name"]: o["spec"] for o in built["apps/batch01/overlays/prod"] if o["kind"] == "CronJob"}
    assert len(crons) == 8
    assert (crons["batch01-sync-inventory-2"]["schedule"], crons["batch01-sync-inventory-2"]["timeZone"],
            crons["batch01-sync-inventory-2"]["concurrencyPolicy"]) == ("0 9 * * 1-5", "America/New_York", "Forbid")
    assert not any(o["kind"] == "Deployment" for o in built["apps/batch01/overlays/prod"])
    assert findings == Counter({("info", "argocd-unpinned-revision"): 4, ("warning", "image-not-pinned"): 8})


def test_names_stay_within_the_cronjob_name_limit(repo: Path) -> None:
    crontab = repo.parent / "legacy/batch01.crontab"
    crontab.write_text("CRON_TZ=UTC\n" + "".join(f"{m} * * * * /opt/bin/reconcile-every-merchant-account-balance\n"
                                                  for m in range(12)))
    shipcard_import(repo, "crontab", CRONTAB, "--image", IMAGE, "--name", "payments-reconciliation")
    names = [j["name"] for j in load_plain((repo / "services/payments-reconciliation.service.yaml").read_text())["jobs"]]
    assert len(set(names)) == 12
    assert max(len(f"payments-reconciliation-{n}") for n in names) == 52
    assert names[:2] == ["reconcile-every-merchant-acc", "reconcile-every-merchant-a-2"]
    assert names[-1] == "reconcile-every-merchant-12"


@pytest.mark.parametrize(("text", "line"), [
    pytest.param("CRON_TZ=Mars/Olympus\n0 1 * * * /bin/true\n", f"{CRONTAB}:1:9: CRON_TZ: not a time zone of the IANA "
                 "database (e.g. Etc/UTC, Europe/Berlin, America/New_York)", id="time-zone"),
    pytest.param("0 25 * * * /bin/true\n", f"{CRONTAB}:1:1: schedule: the API server would refuse it: hour '25': "
                 "above the maximum (23)", id="hour"),
    pytest.param("@fortnightly /bin/true\n", f"{CRONTAB}:1:1: schedule: unknown macro @fortnightly (one of @reboot, "
                 "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)", id="macro"),
    pytest.param("@reboot /bin/true\n", f"{CRONTAB}:1:1: no job to import (no schedule line other than @reboot "
                 "and %)", id="only-reboot"),
])
def test_bad_crontabs_are_one_line_exit_2_and_nothing_written(repo: Path, text: str, line: str) -> None:
    (repo.parent / "legacy/batch01.crontab").write_text(text)
    before = written(repo)
    assert shipcard_import(repo, "crontab", CRONTAB, "--image", IMAGE, code=2).output == f"shipcard: {line}\n"
    assert written(repo) == before


def test_the_image_is_required(repo: Path) -> None:
    result = shipcard_import(repo, "crontab", CRONTAB, code=2)
    assert result.output.endswith("Error: Missing option '--image'.\n")

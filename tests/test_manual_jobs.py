"""Issue 17, item 5: a manual job's CronJob, and the Jobs started from it, carry the card's owner.

Both formats render these objects: tests/test_helmfile.py compares helm's and kubectl kustomize's
output with them for the examples and EDGE (whose description JSON must escape).
"""

from __future__ import annotations

from shipcard.card.load import load_card, load_card_text
from shipcard.k8s.objects import environment_objects
from tests.conftest import example_cards


def billing_objects(env_name: str = "prod") -> dict[str, dict]:
    card = load_card(next(c for c in example_cards() if c.name == "billing-api.service.yaml"))
    env = next(e for e in card.environments if e.name == env_name)
    return {o["metadata"]["name"]: o for o in environment_objects(env) if o["kind"] == "CronJob"}


LABELS = {"app.kubernetes.io/name": "billing-api", "app.kubernetes.io/instance": "billing-api",
          "app.kubernetes.io/component": "job", "app.kubernetes.io/managed-by": "shipcard",
          "app.kubernetes.io/part-of": "payments"}
OWNER = {"shipcard.io/owner": "payments", "shipcard.io/description": "Billing REST API (Rails)"}


def test_a_manual_cronjob_and_its_job_template_carry_the_owner_and_the_manual_label() -> None:
    cronjob = billing_objects()["billing-api-data-patch"]
    assert cronjob["metadata"] == {
        "name": "billing-api-data-patch", "namespace": "billing",
        "labels": {**LABELS, "shipcard.io/manual": "true"},
        "annotations": {"shipcard.io/run": "shipcard run data-patch --card billing-api", **OWNER}}
    assert cronjob["spec"]["jobTemplate"]["metadata"] == {"labels": {**LABELS, "shipcard.io/manual": "true"},
                                                          "annotations": OWNER}


def test_a_scheduled_cronjob_gets_neither() -> None:
    cronjob = billing_objects()["billing-api-nightly-invoices"]
    assert cronjob["metadata"] == {"name": "billing-api-nightly-invoices", "namespace": "billing", "labels": LABELS}
    assert cronjob["spec"]["jobTemplate"]["metadata"] == {"labels": LABELS}


def test_without_team_or_description_only_the_run_hint_and_label_remain() -> None:
    card = load_card_text("apiVersion: shipcard/v1\nkind: Service\nname: tiny\nimage: busybox:1\n"
                          "jobs: [{name: fix, manual: true, command: [\"true\"]}]\nenvironments: {prod: {}}\n"
                          "gitops: {repoURL: https://example.com/g.git}\n", "tiny.service.yaml", "tiny.service.yaml")
    (cronjob,) = [o for o in environment_objects(card.environments[0]) if o["kind"] == "CronJob"]
    assert cronjob["metadata"]["annotations"] == {"shipcard.io/run": "shipcard run fix --card tiny"}
    assert cronjob["spec"]["jobTemplate"]["metadata"] == {"labels": {
        "app.kubernetes.io/name": "tiny", "app.kubernetes.io/instance": "tiny", "app.kubernetes.io/component": "job",
        "app.kubernetes.io/managed-by": "shipcard", "shipcard.io/manual": "true"}}

"""shipcard.yamlio.edit: scalars and keys changed in a file's text, every other byte kept, or nothing changed."""

from __future__ import annotations

import pytest

from shipcard.card.migrate import migrate_text
from shipcard.errors import InputError, ShipcardError
from shipcard.lifecycle.new import fill_placeholders
from shipcard.yamlio.edit import replace_scalars, scalar_text
from shipcard.yamlio.read import PathKey
from shipcard.yamlio.roundtrip import load_roundtrip

DIGEST = "sha256:" + "ab" * 32
# (byte-order mark, line end): every layout a card may come in.
LAYOUTS = {"lf": ("", "\n"), "crlf": ("", "\r\n"), "cr": ("", "\r"), "bom": ("\ufeff", "\n"),
           "bom-crlf": ("\ufeff", "\r\n"), "bom-cr": ("\ufeff", "\r")}


def in_layout(text: str, layout: str) -> str:
    bom, newline = LAYOUTS[layout]
    return bom + text.replace("\n", newline)


def edit(text: str, values: dict[PathKey, str | int | bool],
         renames: dict[PathKey, str] | None = None) -> str:
    return replace_scalars(text, load_roundtrip(text, "c.yaml"), "c.yaml", values, renames)


CARD = """\
# yaml-language-server: $schema=card.json
apiVersion: shipcard/v1alpha1   # the format
kind: Service
name: 'billing'
image: &app "app:1"    # anchored, double-quoted
containerPort: 8080
jobs:
  - {name: a, image: *app, cron: "0 1 * * *"}
environments:
  prod:
    image:   'app:2'     # extra blanks
    secretsFrom: {aws: prod/billing}
"""


@pytest.mark.parametrize("layout", LAYOUTS)
def test_values_and_keys_change_and_every_other_byte_stays(layout: str) -> None:
    before = in_layout(CARD, layout)
    after = edit(before, {("image",): f"app:1@{DIGEST}", ("jobs", 0, "image"): f"app:1@{DIGEST}",
                          ("environments", "prod", "image"): f"app:2@{DIGEST}", ("apiVersion",): "shipcard/v1"},
                 {("containerPort",): "port", ("jobs", 0, "cron"): "schedule",
                  ("environments", "prod", "secretsFrom"): "secrets"})
    assert after == in_layout(f"""\
# yaml-language-server: $schema=card.json
apiVersion: shipcard/v1   # the format
kind: Service
name: 'billing'
image: &app "app:1@{DIGEST}"    # anchored, double-quoted
port: 8080
jobs:
  - {{name: a, image: *app, schedule: "0 1 * * *"}}
environments:
  prod:
    image:   'app:2@{DIGEST}'     # extra blanks
    secrets: {{aws: prod/billing}}
""", layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_card_migrates_in_every_layout(layout: str) -> None:
    text, changes = migrate_text(in_layout(CARD, layout), "c.yaml")
    assert text == in_layout(CARD.replace("shipcard/v1alpha1", "shipcard/v1").replace("containerPort", "port")
                             .replace("cron:", "schedule:").replace("secretsFrom", "secrets"), layout)
    assert changes == ["apiVersion shipcard/v1alpha1 → shipcard/v1", "containerPort → port",
                       "jobs[0].cron → jobs[0].schedule", "environments.prod.secretsFrom → environments.prod.secrets"]


@pytest.mark.parametrize("before, value, after", [
    ("v: abc\n", "yes", 'v: "yes"\n'),  # plain would read back as a boolean (YAML 1.1)
    ("v: abc\n", "a: b", 'v: "a: b"\n'),
    ("v: abc # c\n", "two\nlines", 'v: "two\\nlines" # c\n'),
    ("v: 'abc'\n", "it's", 'v: "it\'s"\n'),  # does not fit the owner's quotes unescaped
    ('v: "abc"\n', "back\\slash", 'v: "back\\\\slash"\n'),
    ('v: "80"\n', 8080, "v: 8080\n"),
    ("v: 80\n", "80", 'v: "80"\n'),
    ("v: abc\n", "grüße", 'v: "grüße"\n'),
    ("l: [a, 'b', c]\n", "z", "l: [a, 'z', c]\n"),
    ("v: abc", "xyz", "v: xyz"),  # no line end at the end of the file
])
def test_the_new_scalar_keeps_the_owners_quotes_when_it_can(before: str, value: str | int, after: str) -> None:
    path: PathKey = ("l", 1) if before.startswith("l:") else ("v",)
    assert edit(before, {path: value}) == after


@pytest.mark.parametrize("text", ['v: "ab\\x63"\n', "v: >-\n  abc\n", "v: |\n  abc\n", "v: abc\n  def\n"])
def test_a_scalar_that_is_not_written_plainly_is_refused_at_its_place(text: str) -> None:
    with pytest.raises(InputError) as error:
        edit(text, {("v",): "x"})
    assert str(error.value) == ("c.yaml:1:4: v: cannot rewrite this scalar in place (alias, escape or block style); "
                                "write it as a plain or quoted string")


def test_one_anchored_scalar_cannot_take_two_values() -> None:
    with pytest.raises(InputError) as error:
        edit("image: &a app:1\nother: {image: *a}\n", {("image",): "app:2", ("other", "image"): "app:3"})
    assert str(error.value) == "c.yaml:1:8: image: one anchored scalar would need two different values"


def test_an_anchor_shared_with_a_field_not_edited_leaves_the_text_alone() -> None:
    with pytest.raises(InputError) as error:
        edit("description: &a app:1\nimage: *a\n", {("image",): "app:2"})
    assert str(error.value) == ("c.yaml: rewriting in place would change other values too "
                                "(an anchor shared with another field?); file left unchanged")


def test_a_rename_onto_an_existing_key_is_refused_as_a_duplicate() -> None:
    with pytest.raises(InputError) as error:
        edit("a: 1\nb: 2\n", {}, {("a",): "b"})
    assert str(error.value) == 'c.yaml:2:1: duplicate key "b"'


def test_a_mapping_is_not_a_scalar() -> None:
    with pytest.raises(InputError) as error:
        edit("a: {b: 1}\n", {("a",): "x"})
    assert str(error.value) == "c.yaml:1:4: a: cannot rewrite this value in place: not a string or a number"


@pytest.mark.parametrize("value, text", [
    ("app:1", "app:1"), ("ghcr.io/a/b:1.2@" + DIGEST, "ghcr.io/a/b:1.2@" + DIGEST), ("1.10", '"1.10"'),
    ("yes", '"yes"'), ("null", '"null"'), ("", '""'), ("a\tb", '"a\\tb"'),
    ("a\x1bb", '"a\\u001bb"'), ("\u2028", '"\\u2028"'), (True, "true"), (7, "7"),
])
def test_scalar_text_reads_back_as_the_value_for_every_reader(value: str | int | bool, text: str) -> None:
    assert scalar_text(value) == text


def test_placeholders_become_values_and_a_stray_one_is_a_blueprint_bug() -> None:
    template = "# a card\nname: api\nimage: ph0x   # the image\nreplicas: ph1x\n"
    assert fill_placeholders(template, "c.yaml", {"ph0x": "app: 1", "ph1x": 3}) == \
        '# a card\nname: api\nimage: "app: 1"   # the image\nreplicas: 3\n'
    with pytest.raises(ShipcardError) as error:
        fill_placeholders(template + "# ph1x\n", "c.yaml", {"ph0x": "app:1", "ph1x": 3})
    assert str(error.value) == "c.yaml: the blueprint uses ph1x outside a scalar value (blueprint bug)"

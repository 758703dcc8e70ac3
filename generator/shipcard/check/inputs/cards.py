"""Cards in a check: each read and validated once per run, then compared with its rendered tree.

`card-invalid` for a card that does not load or that `render` would refuse beside the repository's
other cards (two cards rendering one object, tree or service name: `shipcard.render.card_claims`),
`secret-literal-in-env` for a literal under a secret-looking name in its env, `generated-file-edited`
for a file of its rendered tree edited by hand and `generated-file-stale` for one out of date. The
trees of every card checked are planned together, so the vendored chart is compared once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipcard.check.inputs.paths import CARD_SUFFIX, display
from shipcard.check.model import Finding
from shipcard.errors import InputError, Location, ShipcardError
from shipcard.settings import load_repo, settings_for_card
from shipcard.writers.tree import EDITED, Change, changes_of
from shipcard.yamlio.read import read_text, real_path

if TYPE_CHECKING:
    from shipcard.card.model import Card
    from shipcard.yamlio.read import Document

# Cards are loaded and their collisions judged by the modules `render` uses, imported where they are
# used so that a check with no card does not import the card model, its schemas and the writers.

SECRET_LITERAL_RULE = "secret-literal-in-env"


@dataclass
class _Read:
    """One card as this run read it: its text, and the card or the findings it loads as."""

    text: str | None
    card: Card | None
    problems: list[Finding]


@dataclass
class Cards:
    """The cards of one check run, keyed by path: read once, validated once."""

    _read: dict[Path, _Read] = field(default_factory=dict)
    _checked: list[Path] = field(default_factory=list)
    _verified: dict[Path, tuple[Card, frozenset[Path]]] = field(default_factory=dict)
    _charts: dict[Path, frozenset[Path]] = field(default_factory=dict)
    _current: set[Path] = field(default_factory=set)  # `--base`: changed cards, checked as they render now
    _stale: dict[Path, Card] = field(default_factory=dict)  # of those, the ones whose tree is not what they render

    def tree(self, path: Path) -> Path | None:
        """The rendered tree of a card in `services/`: its `gitops.path` when it loads, else `apps/<name>`."""
        if path.parent.name != "services":
            return None
        out = path.parent.parent
        card = self.card(path)
        if card is not None:
            return real_path(out / card.gitops.path)
        return real_path(out / "apps" / path.name.removesuffix(CARD_SUFFIX))

    def card(self, path: Path) -> Card | None:
        """The card at `path` as this run reads it; None when it does not load."""
        return self._load(path).card

    def text(self, path: Path) -> str | None:
        """The text of `path` when this run read it already as a card."""
        read = self._read.get(path)
        return read.text if read is not None else None

    def check(self, path: Path, text: str) -> list[Finding]:
        """The findings of the card itself; its tree is compared later, by `drift_findings`."""
        read = self._load(path, text)
        if read.problems:
            return read.problems
        self._checked.append(path)
        assert read.card is not None
        return _secret_literals(path, read.card, text)

    def verified_tree(self, path: Path) -> tuple[Card, frozenset[Path]] | None:
        """A card whose tree `drift_findings` compared, built with the settings its render uses, and the
        files of that tree found exactly as it renders them; None for any other card."""
        return self._verified.get(path)

    def check_current_output(self, path: Path) -> None:
        """`check --base` of a changed card: when its tree is stale or missing, also check the objects it
        renders now (`current_output`), as the tree `render` would write holds them."""
        self._current.add(path)

    def current_output(self) -> list[tuple[Path, Document, Card]]:
        """The cards `check_current_output` named whose tree `drift_findings` found stale or missing, each
        with the card's document (the objects it renders now are placed at its start)."""
        from shipcard.yamlio.read import load_documents

        found = []
        for path, card in self._stale.items():
            text = self._read[path].text or ""
            document = next(load_documents(text, display(path)), None)
            if document is not None:
                found.append((path, document.at_start(), card))
        return found

    def verified_chart(self, out: Path) -> frozenset[Path] | None:
        """The files of the vendored chart of repository `out`, when `drift_findings` found each of them as
        `render` vendors it; None when it did not compare the chart or found it different."""
        return self._charts.get(out)

    def drift_findings(self) -> list[Finding]:
        """Compare the trees of the valid cards checked (in `services/`, tree present) with the files on disk;
        and report what a checked card renders that another card of its repository renders too."""
        findings = self._collision_findings()
        groups: dict[Path, list[Path]] = {}
        for path in dict.fromkeys(self._checked):
            card = self._read[path].card
            out = path.parent.parent
            if path.parent.name == "services" and card is not None and (out / card.gitops.path).is_dir():
                groups.setdefault(out, []).append(path)
            elif path in self._current and path.parent.name == "services" and card is not None:
                self._stale[path] = card  # no tree: nothing rendered yet
        for out, paths in groups.items():
            findings += self._group_drift(out, paths)
        return findings

    def _collision_findings(self) -> list[Finding]:
        """`card-invalid` for each collision `render` refuses, between a checked card in `services/` and
        the repository's other cards (read too, even when only some cards are checked) or its roots."""
        checked = {path for path in self._checked if path.parent.name == "services"}
        findings: list[Finding] = []
        if not checked:
            return findings
        from shipcard.render import card_claims, collision_error, collisions, root_claims

        for out in sorted({path.parent.parent for path in checked}):
            known = {os.path.abspath(path): path for path in self._read}  # each card read once, whatever its spelling
            cards = [(path, read.card) for found in sorted(out.glob("services/*.service.yaml"), key=str)
                     if (read := self._load(path := known.get(os.path.abspath(found), found))).card is not None]
            namespace = load_repo(out).argocd_namespace
            claims = [claim for _, card in cards for claim in card_claims(card, namespace)]
            environments = {env.name for _, card in cards for env in card.environments}
            places = {card.source: (display(path), self._read[path].text or "") for path, card in cards}
            paths = {card.source: path for path, card in cards}
            pairs: set[tuple[str, str]] = set()
            for earlier, later in collisions([*root_claims(environments, namespace), *claims]):
                if not {paths.get(earlier.source), paths.get(later.source)} & checked \
                        or (earlier.source, later.source) in pairs:
                    continue  # one finding per two cards, the one `render` reports
                pairs.add((earlier.source, later.source))
                error = collision_error(earlier, later, places)
                findings.append(Finding("card-invalid", "error", f"{error.field}: {error.message}",
                                        error.location.file, error.location.line, error.location.column))
        return findings

    def _load(self, path: Path, text: str | None = None) -> _Read:
        read = self._read.get(path)
        if read is None:
            read = self._read[path] = _read_card(path, text)
        return read

    def _group_drift(self, out: Path, paths: list[Path]) -> list[Finding]:
        # Imported here: the render machinery (multiprocessing, ctypes) only when there are cards.
        from shipcard.lifecycle.rendering import CardInput, Options, plan_repository
        from shipcard.render import card_source
        from shipcard.writers.chart import CHART_DIR, chart_files

        settings = load_repo(out)
        resolved_out = real_path(out)
        inputs = []
        built: dict[Path, Card] = {}
        for path in paths:
            read = self._read[path]
            assert read.text is not None
            # Built already, and with the same settings the render uses: not built again.
            same_settings = settings_for_card(path) == settings
            if same_settings and read.card is not None:
                built[path] = read.card
            inputs.append(CardInput(path, card_source(path, out, resolved_out), read.text,
                                    read.card if same_settings else None))
        try:
            outcome = plan_repository(out, inputs, settings, Options(everything=True, whole_repository=False))
        except ShipcardError as exc:
            if len(paths) > 1:  # which card: plan them one by one
                return [f for path in paths for f in self._group_drift(out, [path])]
            return [Finding("generated-file-edited", "error", str(exc), display(paths[0]))]
        findings: list[Finding] = []
        service_changes: set[Change] = set()
        for path, service in zip(paths, outcome.services, strict=True):
            changes = changes_of(service.plan)
            service_changes.update(changes)
            if path in built:
                differ = {*service.plan.added, *service.plan.modified, *service.plan.conflicts}
                self._verified[path] = (built[path], frozenset(out / rel for rel in service.files if rel not in differ))
            findings += _drift_findings(out, path, changes)
            card = built.get(path) or self._read[path].card
            if changes and path in self._current and card is not None:
                self._stale[path] = card
        shared = [change for change in changes_of(outcome.plan) if change not in service_changes]  # the vendored chart
        if any(service.format == "helmfile" for service in outcome.services) \
                and not any(rel.startswith(f"{CHART_DIR}/") for rel, _, _ in shared):
            self._charts[out] = frozenset(out / rel for rel in chart_files())
        if shared:
            first = next((p for p, s in zip(paths, outcome.services, strict=True) if s.format == "helmfile"), paths[0])
            findings += _drift_findings(out, first, shared)
        return findings


def _read_card(path: Path, text: str | None) -> _Read:
    from shipcard.card.load import MAX_CARD_BYTES, MAX_CARD_ERRORS, CardErrors, load_card_text
    from shipcard.render import card_source

    shown = display(path)
    try:
        if text is None:
            text = read_text(path, max_bytes=MAX_CARD_BYTES)
        elif len(text.encode("utf-8")) > MAX_CARD_BYTES:
            size = len(text.encode("utf-8"))
            raise InputError(Location(str(path), 1, 1), "", f"file is {size} bytes, more than the "
                             f"{MAX_CARD_BYTES} allowed")
        source = card_source(path, path.parent.parent) if path.parent.name == "services" else path.name
        card = load_card_text(text, str(path), source, None, settings_for_card(path))
    except InputError as exc:  # a CardErrors: every problem, each a finding
        errors = exc.errors[:MAX_CARD_ERRORS] if isinstance(exc, CardErrors) else [exc]
        return _Read(text, None, [_card_invalid(error, shown) for error in errors])
    except ShipcardError as exc:
        return _Read(text, None, [Finding("card-invalid", "error", str(exc), shown)])
    return _Read(text, card, [])


def _card_invalid(error: InputError, shown: str) -> Finding:
    where = error.location
    message = f"{error.field}: {error.message}" if error.field else error.message
    return Finding("card-invalid", "error", message, display(where.file) if where.file else shown, where.line,
                   where.column)


def _drift_findings(out: Path, card: Path, changes: list[Change]) -> list[Finding]:
    findings = []
    for rel, what, rule in changes:
        file = out / rel
        if rule == EDITED:
            findings.append(Finding(rule, "error", f"edited by hand since shipcard wrote it; {what} (card "
                                    f"{display(card)}; move the edit into the card or restore the file, then run "
                                    "`shipcard render`)", display(file), 1, 1))
        elif file.exists():
            findings.append(Finding(rule, "error", f"{what}: rendered before the card, shipcard.yaml or shipcard "
                                    f"changed (card {display(card)}; run `shipcard render`)", display(file), 1, 1))
        else:
            findings.append(Finding(rule, "error", f"{rel} is {what} (run `shipcard render`)", display(card)))
    return findings


def _secret_literals(path: Path, card: Card, text: str) -> list[Finding]:
    """`secret-literal-in-env` for a card's `env` (base or an environment's) holding a literal under a
    secret-looking name. Such a value is rendered into the ConfigMap `<name>-env`, i.e. committed in
    clear, so it is the same error as a literal `value` in a container's env. The value is never shown."""
    from shipcard.yamlio.roundtrip import load_roundtrip, locate

    passes = _secret_literal_check()
    raw = card.raw
    if passes is None or not isinstance(raw, dict):
        return []
    places: list[tuple[tuple[str, ...], Any]] = [(("env",), raw.get("env"))]
    environments = raw.get("environments")
    if isinstance(environments, dict):
        places += [(("environments", str(name), "env"), (overrides or {}).get("env"))
                   for name, overrides in environments.items() if isinstance(overrides, dict) or overrides is None]
    shown = display(path)
    findings: list[Finding] = []
    document = None
    for prefix, env in places:
        if not isinstance(env, dict):
            continue
        for name, value in env.items():
            if not isinstance(value, str) or passes({"env": [{"name": str(name), "value": value}]}):
                continue
            if document is None:
                document = load_roundtrip(text, shown)
            line, column = locate(document, prefix + (name,))
            where = ".".join(prefix)
            findings.append(Finding(SECRET_LITERAL_RULE, "error", f"card {where} sets {name} to a literal value (not "
                                    "shown), which is rendered into a ConfigMap; move it to secrets.env", shown,
                                    line, column))
    return findings


@cache
def _secret_literal_check() -> Callable[[Any], bool] | None:
    """Whether a card passes the built-in rule's own schema (policies/secrets/secret-literal-in-env.yaml),
    so both agree; None when that rule does not load."""
    from fastjsonschema import JsonSchemaException

    from shipcard.check.rules.data import load_data_rule
    from shipcard.check.rules.pack import builtin_policy_dir

    try:
        validate = load_data_rule(builtin_policy_dir() / "secrets" / f"{SECRET_LITERAL_RULE}.yaml").validate
    except (ShipcardError, OSError):
        return None
    if validate is None:
        return None
    check = validate

    def passes(instance: Any) -> bool:
        try:
            check(instance)
            return True
        except JsonSchemaException:
            return False

    return passes

"""`shipcard check`: run the layers in order and decide the exit code.

1. inputs and YAML   (shipcard.check.inputs)       files → objects; malformed YAML is a finding
2. Kubernetes schema (shipcard.check.schema)       strict, per (apiVersion, kind)
3. custom resources  (shipcard.check.schema)       CRDs from the input and --crd-dir, bundled schemas
4. deprecations      (shipcard.check.deprecations) removed / deprecated apiVersions
5. policy pack       (shipcard.check.rules)        load_rules(policy_dirs).evaluate(objects)
6. suppression       (shipcard.check.suppress)     annotations and shipcard.yaml
7. once per source   (shipcard.check.once)         a base's finding once, listing its overlays

Exit codes: 0 when no unsuppressed finding is at or above --fail-on, 1 when one is, 2 for
usage errors and unreadable input. Malformed YAML is an error finding, so never 0.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipcard.check.deprecations import check_deprecations, deprecation_rule_infos, is_removed
from shipcard.check.inputs.parse import load_targets
from shipcard.check.inputs.paths import MANIFEST_SUFFIXES, display
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.model import SEVERITY_ORDER, Finding, K8sObject, RuleInfo
from shipcard.check.once import report_once
from shipcard.check.schema import SchemaValidator, parse_version, schema_rule_infos
from shipcard.check.shard import Ownership, Shard, own_findings, own_inputs, own_objects
from shipcard.check.suppress import (
    ALWAYS_REQUIRED,
    apply_suppressions,
    counts_against,
    suppression_rule_infos,
    validate_fail_on,
)
from shipcard.errors import InputError, ShipcardError
from shipcard.settings import RepoSettings, find_repo_root, load_repo, load_settings, repository_root
from shipcard.yamlio.read import load_documents, read_text, real_path

if TYPE_CHECKING:
    from shipcard.check.rules import RuleSet

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


@dataclass
class CheckOptions:
    paths: list[str] = field(default_factory=list)
    kubernetes_version: str | None = None
    strict_kinds: bool = False
    crd_dirs: list[Path] = field(default_factory=list)
    policy_dirs: list[Path] = field(default_factory=list)
    values: list[Path] = field(default_factory=list)
    fail_on: str | None = None
    base: str | None = None
    config: Path | None = None
    allow_remote: bool = False  # render what names remote locations, fetch remote `$ref`s
    jobs: int | None = None  # kubectl and helm processes at a time (default: the number of cores)
    in_process: bool = True  # build intact generated overlays here; False: every one by kubectl (tests)
    shard: Shard | None = None  # `--shard K/N`: report only the findings of this shard's targets


@dataclass
class CheckResult:
    findings: list[Finding]
    objects: int
    files: list[str]
    rule_infos: Callable[[], list[RuleInfo]]  # what `rules` lists, asked for only by the reports that need it
    kubernetes_version: str
    fail_on: str
    exit_code: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    selection: list[str] = field(default_factory=list)
    config_file: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)
    shard: Shard | None = None
    # What the run read (objects, their documents and positions), freed with the result rather than when the
    # run returns: the console script ends the process before that, freeing nothing (shipcard.cli.run).
    inputs: object = field(default=None, repr=False, compare=False)

    @cached_property
    def rules(self) -> list[RuleInfo]:
        """The rules a report lists: the policy pack's and the engine's own findings', by category and ID
        (loading the pack now if the run had nothing to evaluate)."""
        return self.rule_infos()

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0, "suppressed": 0}
        for finding in self.findings:
            out["suppressed" if finding.suppressed else finding.severity] += 1
        return out


Progress = Callable[[str, int, int], None]  # (stage, done, total); total 0 while not known


def run_check(options: CheckOptions, *, stdin_text: str | None = None,
              log: Callable[[str], None] = lambda _: None,
              progress: Progress = lambda stage, done, total: None) -> CheckResult:
    """Check the inputs; ShipcardError for usage errors (bad option, missing path, bad config or policy).

    The cyclic garbage collector is paused meanwhile: parsing builds millions of acyclic
    objects that stay alive until the end, and repeated full collections over them would
    triple the run time (reference counting still frees everything). They stay alive with the
    result (`CheckResult.inputs`), so before the collector runs again they are frozen out of its
    collections (`gc.freeze`): the first one would otherwise walk every object the run made. They
    rejoin the collector's care when the result is freed (the console script exits first).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    result = None
    try:
        result = _run_check(options, stdin_text=stdin_text, log=log, progress=progress)
        return result
    finally:
        if was_enabled:
            gc.freeze()
            if result is not None:
                weakref.finalize(result, gc.unfreeze)
            gc.enable()


def _run_check(options: CheckOptions, *, stdin_text: str | None,
               log: Callable[[str], None], progress: Progress) -> CheckResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    cwd = real_path(Path.cwd())
    first = cwd / options.paths[0] if options.paths and options.paths[0] != "-" else cwd  # a link loop too
    settings = load_settings(options.config) if options.config else \
        load_repo(find_repo_root(first if first.exists() else cwd))
    fail_on = validate_fail_on(options.fail_on or settings.check.fail_on or "error")
    target = parse_version(options.kubernetes_version) if options.kubernetes_version else settings.kubernetes_version
    validator = SchemaValidator(target, strict_kinds=options.strict_kinds or settings.check.strict_kinds)
    # Outside a repository, a directory given on the command line is the root of the tree to check.
    root = repository_root(first if first.exists() else cwd) or (first if first.is_dir() else cwd)
    paths = options.paths or [str(root)]
    # Before any planning: a bad policy file or `check.rules` entry is the one line a run prints. The
    # built-in pack alone cannot be wrong, so it is loaded only once there are objects to evaluate.
    configured = bool(options.policy_dirs or settings.check.policy_dirs or settings.check.rules)
    ruleset = policy_pack(options.policy_dirs, settings, root) if configured else None
    selection: list[str] = []
    changes = None
    if options.base:
        from shipcard.check.base import Changes, plan_changed
        decisive = [*options.policy_dirs, *options.crd_dirs, *settings.check.policy_dirs, *settings.check.crd_dirs,
                    *(file for file in (settings.file, options.config) if file is not None)]
        changes = Changes.find(root, options.base)
        plan, selection = plan_changed(paths, options.values, changes, decisive)
        for line in selection:
            log(line)
    else:
        plan = plan_inputs(paths, values=options.values)
    if options.allow_remote:
        plan.allow_remote()
    # Groups from the whole plan: a target's shard is the same with and without --base.
    ownership = None
    if options.shard:
        ownership = Ownership(plan if changes is None else plan_inputs(paths, values=options.values), root)
    lap("plan")

    progress("reading and rendering", 0, 0)
    loaded = load_targets(plan, stdin_text=stdin_text, jobs=options.jobs, in_process=options.in_process)
    findings = list(loaded.findings)
    objects = loaded.objects
    # Sharded, the per-object layers check this shard's objects; the cross-object ones see them all.
    own = own_objects(objects, ownership, options.shard) if ownership and options.shard else objects
    lap("read and render")

    crd_findings, crds = _crds(objects, options.crd_dirs + list(settings.check.crd_dirs),
                               plan.unchecked if changes is not None else ())
    findings += crd_findings
    validator.register_crds(crds)
    for done, obj in enumerate(own):
        progress("schemas", done, len(own))
        if not is_removed(obj, validator.target):
            findings += validator.validate(obj)
    lap("schema")

    findings += check_deprecations(own, validator.target)
    if changes is not None:
        from shipcard.check.immutable import check_immutable
        findings += check_immutable(objects, changes)
    lap("deprecations")

    progress("policy pack", 0, 0)
    if objects and ruleset is None:
        ruleset = policy_pack(options.policy_dirs, settings, root)
    known: set[str] = set()  # the rule IDs a suppression annotation may name (no objects: no annotations)
    if ruleset is not None:
        findings += _remote_schemas(ruleset, fetch=options.allow_remote)
        kube_objects = [o for o in objects if o.api_version and o.kind]
        findings += _evaluate(ruleset, kube_objects, root, validator, None if own is objects else own)
        known = {i.id for i in all_rule_infos(ruleset)} | ruleset.disabled
    lap("policy pack")

    by_ref = {(o.file, o.ref): o for o in objects}
    for finding in findings:
        if finding.origin is None:
            source = by_ref.get((finding.file, finding.object_ref))
            finding.origin = source.origin if source is not None else None
    findings = apply_suppressions(findings, objects, settings, known)
    findings = report_once(_sorted_unique(findings))
    files = loaded.files
    if ownership and options.shard:
        findings = own_findings(findings, ownership, options.shard)
        files = own_inputs(files, ownership, options.shard)
    lap("suppression")

    return CheckResult(
        findings=findings, objects=len(own), files=files, rule_infos=lambda: all_rule_infos(ruleset),
        shard=options.shard,
        kubernetes_version=validator.version, fail_on=fail_on, exit_code=exit_code(findings, fail_on),
        skipped=loaded.skipped, notes=loaded.notes, selection=selection,
        config_file=display(settings.file) if settings.file else None, timings=timings, root=root,
        inputs=(plan, loaded))


def policy_pack(policy_dirs: list[Path], settings: RepoSettings, root: Path) -> RuleSet:
    """The built-in pack with the policies of `policy_dirs` and shipcard.yaml's `check.policy-dirs`,
    configured by its `check.rules`; PolicyError or InputError (exit 2) for a bad file or entry."""
    from shipcard.check.rules import load_rules

    return load_rules(policy_dirs, config_dirs=list(settings.check.policy_dirs), root=root).configured(
        settings.check.rules, ALWAYS_REQUIRED | settings.check.required, {i.id for i in engine_rule_infos()})


def exit_code(findings: list[Finding], fail_on: str) -> int:
    if any(f.rule == "input-unreadable" for f in findings):
        return EXIT_USAGE
    if any(counts_against(f, fail_on) for f in findings):
        return EXIT_VIOLATIONS
    return EXIT_OK


def _crds(objects: list[K8sObject], crd_dirs: list[Path],
          unchecked: Iterable[Path] = ()) -> tuple[list[Finding], list[K8sObject]]:
    """CustomResourceDefinitions of the input first, then those of the files `--base` leaves unchecked
    (the checked objects of their kinds are validated as a full check validates them; the files' own
    problems are theirs, not reported), then those under --crd-dir."""
    crds = [o for o in objects if _is_crd(o.data)]
    for path in dict.fromkeys(unchecked):
        try:
            text = read_text(path)
            if "CustomResourceDefinition" in text:
                crds += [K8sObject(d.data, display(path), d) for d in load_documents(text, display(path))
                         if isinstance(d.data, dict) and _is_crd(d.data)]
        except InputError:
            continue
    findings: list[Finding] = []
    for directory in crd_dirs:
        if not directory.is_dir():
            raise ShipcardError(f"--crd-dir {display(directory)}: no such directory")
        for path in sorted(directory.rglob("*")):
            if not path.is_file() or not path.name.endswith(MANIFEST_SUFFIXES):
                continue
            shown = display(path)
            try:
                for document in load_documents(read_text(path), shown):
                    if isinstance(document.data, dict) and _is_crd(document.data):
                        crds.append(K8sObject(document.data, shown, document))
            except InputError as exc:
                findings.append(Finding("yaml-invalid", "error", exc.message, shown, exc.location.line,
                                        exc.location.column))
    return findings, crds


def _is_crd(data: dict[str, Any]) -> bool:
    return data.get("kind") == "CustomResourceDefinition" \
        and str(data.get("apiVersion", "")).startswith("apiextensions.k8s.io/")


def _evaluate(ruleset: Any, objects: list[K8sObject], root: Path, validator: SchemaValidator,
              local: list[K8sObject] | None = None) -> list[Finding]:
    """Every rule over every object (the per-object rules over `local` only, when given); if a rule
    trips over an object the schema already rejected, evaluate again without the schema-invalid
    objects (their schema findings stand)."""
    try:
        return list(ruleset.evaluate(objects, root=root, local=local))
    except Exception:
        valid = [o for o in objects if validator.verdict(o.data) != "invalid"]
        if len(valid) == len(objects):
            raise
        return list(ruleset.evaluate(valid, root=root, local=local))


def _remote_schemas(ruleset: RuleSet, *, fetch: bool) -> list[Finding]:
    """schema-remote-ref at each `$ref` of a policy that leads outside its schema (the rule checks
    nothing); with `--allow-remote` those schemas are fetched and compiled instead."""
    from shipcard.check.rules import DataRule
    from shipcard.check.rules.cross import schema_remote_ref

    findings = []
    for rule in ruleset:
        if not isinstance(rule, DataRule) or not rule.remote_refs:
            continue
        if fetch:
            rule.fetch_remote_refs()
            continue
        shown = display(rule.file) if rule.file else rule.info.source
        findings += [Finding(schema_remote_ref.ID, "error", schema_remote_ref.message(ref), shown, line, column)
                     for line, column, ref in rule.remote_refs]
    return findings


def all_rule_infos(ruleset: RuleSet | None = None) -> list[RuleInfo]:
    """The policy pack's rules plus the findings of the engine's own layers, by ID."""
    from shipcard.check.rules import load_rules

    infos: dict[str, RuleInfo] = {i.id: i for i in engine_rule_infos()}
    for info in (ruleset or load_rules()).infos():
        infos[info.id] = info
    return sorted(infos.values(), key=lambda i: (i.category, i.id))


# A file as shipcard renders it: the digest in its header is its body's (the PASS example of
# generated-file-edited; changing the body makes the FAIL one).
_GENERATED_CONFIGMAP = ("# Code generated by shipcard from services/web.service.yaml. DO NOT EDIT.\n"
                        "# shipcard-digest: sha256:ca83388875a449c1c57bcaa0d03929ff\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-env\n  namespace: shop\n"
                        "data:\n  MODE: fast\n")


def engine_rule_infos() -> list[RuleInfo]:
    from shipcard.check.immutable import immutable_rule_infos

    src = "shipcard/check/inputs/parse.py"
    return [
        RuleInfo("yaml-invalid", "error", "File is not valid YAML", "input",
                 "Malformed YAML, duplicate keys, alias bombs, nesting deeper than 200 levels, files over 10 MiB "
                 "and text that is not UTF-8 cannot be checked, and tools disagree on what they mean. "
                 "This finding cannot be suppressed.",
                 "Fix the file at the reported line.",
                 ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: fast\n"],
                 ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: fast\n  mode: slow\n"],
                 src),
        RuleInfo("input-unreadable", "error", "Input file cannot be read", "input",
                 "A file that cannot be opened (permissions, a broken link) is not checked; the run exits 2.",
                 "Make the file readable or leave it out of the checked paths.", source=src),
        RuleInfo("render-failed", "error", "Kustomize or Helm rendering failed", "input",
                 "A Kustomize tree or chart that does not render cannot be deployed either. The finding carries "
                 "kubectl's or helm's error output; a missing kubectl or helm is reported the same way "
                 "(SHIPCARD_KUBECTL / SHIPCARD_HELM name the binaries).",
                 "Run the command from the message locally and fix what it reports.", source=src),
        RuleInfo("card-invalid", "error", "Service card does not load", "gitops",
                 "A card that fails its schema or semantic checks cannot be rendered; the message has the field "
                 "and line.", "Fix the card at the reported line (see docs/card-v1.schema.json).",
                 ["apiVersion: shipcard/v1\nkind: Service\nname: web\nteam: shop\nimage: ghcr.io/example/web:1.0.0\n"
                  "ports:\n  - {name: http, port: 8080}\nenvironments:\n  prod: {}\n"
                  "gitops:\n  repoURL: https://github.com/example/gitops.git\n"],
                 ["apiVersion: shipcard/v1\nkind: Service\nname: web\nteam: shop\nimage: ghcr.io/example/web:1.0.0\n"
                  "ports:\n  - {name: http, port: 8080}\nenvironments:\n  prod: {}\n"
                  "gitops:\n  repoURL: https://github.com/example/gitops.git\nreplicass: 2\n"],
                 src),
        RuleInfo("generated-file-edited", "error", "Generated file was edited by hand", "gitops",
                 "Files shipcard renders carry a header with a digest of their body. A file whose body no longer "
                 "matches it was changed by a person; `shipcard render` leaves it as it is (and exits 1) until "
                 "`--force` overwrites it. Reported for any such file checked, and for one in the rendered tree "
                 "of a card in services/.",
                 "Move the change into the card (or an extension point) and restore the file, then run "
                 "`shipcard render`; or `shipcard render --force`, which keeps the edit as <file>.orig.",
                 [_GENERATED_CONFIGMAP],
                 [_GENERATED_CONFIGMAP.replace("MODE: fast", "MODE: slow")],
                 src),
        RuleInfo("generated-file-stale", "error", "Generated file no longer matches its card", "gitops",
                 "For a card in services/ whose tree is present, the tree is rendered again in memory and "
                 "compared: a file that is intact per its header but renders differently now, is missing, or is "
                 "no longer rendered at all means the card, shipcard.yaml or shipcard changed and `shipcard "
                 "render` was not run (after `shipcard pin`, nothing is: it renders what it pins). Files claimed "
                 "by `.shipcard-generated` (the vendored chart) have no digest of their own, so any difference in "
                 "them is reported here. It takes a card and its tree, so no one-file example can show it.",
                 "Run `shipcard render` and commit the card and the tree together.",
                 source=src),
        *schema_rule_infos(),
        *deprecation_rule_infos(),
        *immutable_rule_infos(),
        *suppression_rule_infos(),
    ]


def _sorted_unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for finding in findings:
        key = (finding.rule, finding.file, finding.line, finding.column, finding.message, finding.object_ref,
               finding.container, finding.origin)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return sorted(unique, key=lambda f: (f.file, f.line, f.column, -SEVERITY_ORDER[f.severity], f.rule))

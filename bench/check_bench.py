"""Benchmark of `shipcard check` against kubernetes-validate (schemas) and checkov (policies).

    .venv/bin/python bench/check_bench.py [--copies 100] [--skip-checkov]

Builds the corpus with ../shared/corpus/make-bench-corpus (100 renamed copies of the Online
Boutique manifests: 3,500 objects in 100 files), then times, each as a child process:

* `shipcard check` (schema + every rule), with an empty schema cache and again with a warm one;
* `kubernetes-validate --strict` on the same files (schemas only);
* `checkov --framework kubernetes` on the same directory (policies only), installed into
  `.tools/checkov-venv` on first use; if it cannot be installed the output says so.

It prints wall times, ratios, each child's peak memory (wait4's rusage), and whether the
per-object schema verdicts of shipcard's schema layer agree with kubernetes-validate's.
Targets (2-core machine): identical verdicts, >= 15x faster than kubernetes-validate,
the whole check <= 3 s, peak memory < 500 MB.

`--baseline REF` also times the same check with the package of git revision REF (exported with
`git archive`, run from its own source root with the same interpreter and a warm cache of its
own), best of 5 each, interleaved, and reports both rule counts and the ratio. Target: the pack
of HEAD is at most 10% slower than REF's on the corpus. `--same-findings` (with `--baseline`)
also requires both to report exactly the same findings (the JSON report's `findings`): the
proof that a change made for speed changed no verdict, line or message.

`--big-configmap` runs only the large-object case (also part of the full run): `shipcard check`
of one ConfigMap of 1 MB of the near-misses the secret rules' regexes see (a long scheme, letters
without end, `password` runs), target under one second warm.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# /work/shared next to the checkout, or next to the worktrees' directory (/work/wt/<name>)
MAKE_CORPUS = next((p / "shared" / "corpus" / "make-bench-corpus" for p in ROOT.parents
                    if (p / "shared" / "corpus" / "make-bench-corpus").is_file()),
                   ROOT.parent / "shared" / "corpus" / "make-bench-corpus")
TOOLS = ROOT / ".tools"
CHECKOV_VENV = TOOLS / "checkov-venv"


@dataclass
class Run:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # user + system seconds of the child and the descendants it waited for


def run_child(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run a command: wall time, CPU time and peak RSS (wait4's: the largest of the child and the
    descendants it waited for, not their sum)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   env=child_environment() if env is None else env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss / 1024, process.returncode, out.read(), err.read(),
                   usage.ru_utime + usage.ru_stime)


def parse_floor(paths: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds to parse `paths` with PyYAML's C loader in this process (texts read first)."""
    texts = [path.read_text() for path in paths]
    start, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    return time.perf_counter() - start, time.process_time() - cpu


def child_environment() -> dict[str, str]:
    """This environment for the timed children, with bytecode caches as an installed package has them:
    without PYTHONDONTWRITEBYTECODE, the first run of each side writes what is missing (else every run of
    the side whose tree has none, the exported baseline, would compile every module)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build_corpus(directory: Path, copies: int) -> list[Path]:
    subprocess.run(["sh", str(MAKE_CORPUS), str(directory), str(copies)], check=True)
    return sorted(directory.glob("*.yaml"), key=lambda p: int(p.stem[1:]))


def kubernetes_version() -> str:
    """The newest Kubernetes version kubernetes-validate has schemas for, as X.Y (both tools check against it)."""
    import kubernetes_validate.utils
    return ".".join(kubernetes_validate.utils.latest_version().split(".")[:2])


def shipcard_check(path: Path, env: dict[str, str], *extra: str) -> Run:
    """`shipcard check PATH` (the corpus, or one of its files), as a child process."""
    return run_child([sys.executable, "-m", "shipcard", "check", str(path), *extra], env=env, cwd=ROOT)


_HOLD = """
import sys, yaml
def rss(): return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
before = rss()
held = [list(yaml.load_all(open(path), Loader=yaml.CSafeLoader)) for path in sys.argv[1:]]
print(rss() - before)
"""


def parse_and_hold(files: list[Path]) -> float:
    """KiB of resident memory a fresh process gains parsing `files` with PyYAML's C loader and holding
    every document (VmRSS after minus before): the floor of memory held per object."""
    run = run_child([sys.executable, "-c", _HOLD, *map(str, files)], cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(f"parsing the corpus failed: {run.stderr.strip()[-300:]}")
    return float(run.stdout)


def kubernetes_validate(files: list[Path], version: str) -> Run:
    """`kubernetes-validate --strict` of the same files (schemas only), as a child process."""
    binary = Path(sys.executable).parent / "kubernetes-validate"
    return run_child([str(binary), "--strict", "-k", version, *map(str, files)], cwd=ROOT)


# --------------------------------------------------------------------------- verdicts


def shipcard_verdicts(files: list[Path], version: str) -> dict[tuple[str, str], str]:
    """Per-object verdicts of shipcard's schema layer on the same files (valid / invalid / no-schema)."""
    sys.path.insert(0, str(ROOT))
    from shipcard.check.schema import SchemaValidator, parse_version
    from shipcard.yamlio.read import load_documents, read_text

    validator = SchemaValidator(parse_version(version))
    verdicts = {}
    for path in files:
        for document in load_documents(read_text(path), str(path)):
            data = document.data
            if not data:
                continue
            key = (str(path), f"{str(data.get('kind', '')).lower()}/{(data.get('metadata') or {}).get('name')}")
            verdicts[key] = validator.verdict(data)
    return verdicts


_KV_LINE = re.compile(r"^(INFO|ERROR) (\S+) (?:passed|did not validate) for resource (\S+)")


def kubernetes_validate_verdicts(output: str) -> dict[tuple[str, str], str]:
    verdicts = {}
    for line in output.splitlines():
        match = _KV_LINE.match(line)
        if match:
            verdicts[(match[2], match[3])] = "valid" if match[1] == "INFO" else "invalid"
        elif line.startswith("WARN "):
            verdicts[(line.split()[1], f"no-schema#{len(verdicts)}")] = "no-schema"
    return verdicts


# --------------------------------------------------------------------------- checkov


def checkov_binary() -> tuple[Path | None, str]:
    """checkov from .tools/checkov-venv, installed with pip on first use."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if binary.is_file():
        return binary, "already installed"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True, capture_output=True,
                       timeout=300)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", "checkov"], check=True,
                       capture_output=True, text=True, timeout=1800)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        return None, f"pip install checkov failed: {detail[-1] if detail else exc}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not install checkov: {exc}"
    return (binary, "installed into .tools/checkov-venv") if binary.is_file() else (None, "checkov not found "
                                                                                          "after install")


# --------------------------------------------------------------------------- baseline


BASELINE_SLOWDOWN = 1.10  # the pack may grow; the check of the corpus may not get more than 10% slower


@dataclass
class BaselineComparison:
    ref: str
    rules: tuple[int, int]  # (REF, HEAD)
    seconds: tuple[float, float]  # best warm wall time (REF, HEAD)
    same_findings: bool | None = None  # --same-findings: both sides' JSON findings identical

    @property
    def ratio(self) -> float:
        return self.seconds[1] / self.seconds[0]

    def report(self) -> str:
        return (f"baseline {self.ref}: {self.rules[0]} rules, {self.seconds[0]:.2f} s; HEAD: {self.rules[1]} rules, "
                f"{self.seconds[1]:.2f} s ({self.ratio:.2f}x)")

    def checks(self) -> list[tuple[str, bool]]:
        timed = (f"HEAD's check <= {BASELINE_SLOWDOWN:.2f}x {self.ref}'s ({self.ratio:.2f}x)",
                 self.ratio <= BASELINE_SLOWDOWN)
        if self.same_findings is None:
            return [timed]
        return [timed, (f"HEAD's findings on the corpus identical to {self.ref}'s", self.same_findings)]


def compare_baseline(ref: str, scratch: Path, corpus: Path, env: dict[str, str],
                     same_findings: bool = False) -> BaselineComparison:
    """Best-of-5 warm check of `corpus` by REF's package and by this checkout's, runs interleaved;
    with `same_findings`, also whether both report exactly the same findings (a change for speed only)."""
    tree = scratch / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, "generator"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(scratch / "data.tar"), ref,
                    "policies", "blueprints"], check=True)
    subprocess.run(["tar", "-x", "-C", str(tree), "-f", str(scratch / "data.tar")], check=True)
    sides = {"ref": {**env, "PYTHONPATH": str(tree / "generator"), "SHIPCARD_CACHE_DIR": str(scratch / "ref-cache")},
             "head": {**env, "PYTHONPATH": str(ROOT / "generator")}}
    check = [sys.executable, "-m", "shipcard", "check", str(corpus)]
    rules = {side: len(json.loads(run_child([sys.executable, "-m", "shipcard", "rules", "--format", "json"],
                                            env=side_env, cwd=scratch).stdout)) for side, side_env in sides.items()}
    best = {side: float("inf") for side in sides}
    for side_env in sides.values():
        run_child(check, env=side_env, cwd=scratch)  # warms each side's schema cache
    for _ in range(5):
        for side, side_env in sides.items():
            run = run_child(check, env=side_env, cwd=scratch)
            if run.returncode not in (0, 1):
                raise SystemExit(f"{side} check failed ({run.returncode}): {run.stderr.strip()[-300:]}")
            best[side] = min(best[side], run.seconds)
    identical = None
    if same_findings:
        reports = {}
        for side, side_env in sides.items():
            out = scratch / f"{side}-findings.json"
            run_child([*check, "--format", f"json={out}"], env=side_env, cwd=scratch)
            reports[side] = json.loads(out.read_text())["findings"]
        identical = reports["ref"] == reports["head"]
    return BaselineComparison(ref, (rules["ref"], rules["head"]), (best["ref"], best["head"]), identical)


# --------------------------------------------------------------------------- report


BIG_CONFIGMAP_TARGET = 1.0  # seconds, warm


def big_configmap_check(scratch: Path, env: dict[str, str]) -> Run:
    """`shipcard check` of one 1 MB ConfigMap (best of 3, warm cache): its values defeat a super-linear regex."""
    quarter = 250_000  # 1 MB of values, under the API server's 1 MiB
    values = {"scheme": "A" * quarter + "://u:" + "p" * 1000, "letters": "a1" * (quarter // 2),
              "config.properties": "password" * (quarter // 8), "braces": "{" * quarter}
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "data:"]
    lines += [f"  {key}: \"{value}\"" for key, value in values.items()]
    path = scratch / "big-configmap.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "shipcard", "check", str(path)]
    run_child(argv, env=env, cwd=ROOT)  # fills the schema cache
    return min((run_child(argv, env=env, cwd=ROOT) for _ in range(3)), key=lambda r: r.seconds)


def report_big_configmap(run: Run) -> tuple[str, bool]:
    print(f"shipcard check of a 1 MB ConfigMap: {run.seconds:.2f} s, {run.peak_mb:.0f} MB (exit {run.returncode})")
    return (f"check of a 1 MB ConfigMap < {BIG_CONFIGMAP_TARGET:.0f} s ({run.seconds:.2f} s)",
            run.seconds < BIG_CONFIGMAP_TARGET and run.returncode in (0, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--skip-checkov", action="store_true")
    parser.add_argument("--big-configmap", action="store_true", help="only the 1 MB ConfigMap case")
    parser.add_argument("--baseline", metavar="REF", help="also time the check of git revision REF")
    parser.add_argument("--same-findings", action="store_true",
                        help="with --baseline: also require REF's and HEAD's findings on the corpus to be identical")
    args = parser.parse_args()
    if args.big_configmap:
        with tempfile.TemporaryDirectory(prefix="shipcard-bench-") as scratch:
            env = {**child_environment(), "SHIPCARD_CACHE_DIR": str(Path(scratch) / "cache"), "NO_COLOR": "1"}
            label, ok = report_big_configmap(big_configmap_check(Path(scratch), env))
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
        return 0 if ok else 1

    version = kubernetes_version()
    with tempfile.TemporaryDirectory(prefix="shipcard-bench-") as scratch:
        corpus = Path(scratch) / "corpus"
        files = build_corpus(corpus, args.copies)
        print(f"corpus: {len(files)} files from {MAKE_CORPUS.name} {args.copies}, Kubernetes {version}")

        env = {**child_environment(), "SHIPCARD_CACHE_DIR": str(Path(scratch) / "cache"), "NO_COLOR": "1"}
        shipcard = ("--verbose", "--format", f"json={Path(scratch) / 'findings.json'}")
        cold = shipcard_check(corpus, env, *shipcard)
        warm = min((shipcard_check(corpus, env, *shipcard) for _ in range(3)), key=lambda r: r.seconds)
        if cold.returncode not in (0, 1) or warm.returncode not in (0, 1):
            print(f"shipcard check failed ({warm.returncode}):\n{warm.stderr}")
            return 2
        timings = next((line for line in warm.stderr.splitlines() if line.startswith("timings:")), "")
        summary = json.loads((Path(scratch) / "findings.json").read_text())["summary"]

        kv = kubernetes_validate(files, version)
        ours = shipcard_verdicts(files, version)
        theirs = kubernetes_validate_verdicts(kv.stdout)
        agree = ours == theirs
        differing = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))

        big = big_configmap_check(Path(scratch), env)
        baseline = compare_baseline(args.baseline, Path(scratch), corpus, env, args.same_findings) \
            if args.baseline else None

        if args.skip_checkov:
            checkov, checkov_note = None, "skipped (--skip-checkov)"
        else:
            binary, checkov_note = checkov_binary()
            checkov = None
            if binary is not None:
                checkov = run_child([str(binary), "--framework", "kubernetes", "-d", str(corpus), "--quiet",
                                     "--compact", "-o", "json"], cwd=Path(scratch))

    objects = len(ours)
    print(f"objects: {objects}; shipcard findings: {summary['error']} errors, {summary['warning']} warnings, "
          f"{summary['info']} infos")
    print()
    print(f"{'tool':<44} {'wall s':>8} {'peak MB':>8} {'vs shipcard':>12}")
    rows = [("shipcard check (warm schema cache, best of 3)", warm), ("shipcard check (cold: empty cache)", cold),
            ("kubernetes-validate --strict (schema only)", kv)]
    if checkov is not None:
        rows.append(("checkov --framework kubernetes (policies)", checkov))
    for name, run in rows:
        ratio = run.seconds / warm.seconds
        print(f"{name:<44} {run.seconds:>8.2f} {run.peak_mb:>8.0f} {ratio:>11.1f}x")
    if checkov is None:
        print(f"checkov: not run ({checkov_note})")
    print()
    print(f"shipcard {timings}")
    print(f"schema verdicts: shipcard {sorted(set(ours.values()))} on {len(ours)} objects, kubernetes-validate "
          f"{len(theirs)} objects: {'identical' if agree else f'{len(differing)} differ, e.g. {differing[:3]}'}")
    big_check = report_big_configmap(big)
    speedup = kv.seconds / warm.seconds
    checks = [
        big_check,
        ("identical schema verdicts", agree),
        (f">= 15x faster than kubernetes-validate ({speedup:.1f}x)", speedup >= 15),
        (f"whole check <= 3 s ({warm.seconds:.2f} s warm, {cold.seconds:.2f} s cold)", warm.seconds <= 3),
        (f"peak memory < 500 MB ({max(warm.peak_mb, cold.peak_mb):.0f} MB)", max(warm.peak_mb, cold.peak_mb) < 500),
    ]
    if baseline is not None:
        print(baseline.report())
        checks += baseline.checks()
    print()
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

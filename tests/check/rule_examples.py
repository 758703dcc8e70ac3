"""Running a rule's documentation examples (PASS/FAIL in its docstring or data file) in the tests.

An example is a YAML stream of complete manifests. A document may start with a comment
`# file: <path>`: the object then comes from that repository-relative file, and the file
is created (with the document's text) in the temporary repository root the example runs
in — how the GitOps rules' examples show an Application whose source path exists. A comment
`# origin: <command>` makes the object one that command rendered (`helm template RELEASE CHART
--namespace NS`, `kubectl kustomize DIR`), as `check` reads a chart or an overlay.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules import RuleSet
from shipcard.yamlio.read import load_documents

FILE_HEADER = re.compile(r"^#\s*file:\s*(\S+)\s*$")
ORIGIN_HEADER = re.compile(r"^#\s*origin:\s*(\S.*?)\s*$")
EXAMPLE_FILE = "example.yaml"


def example_objects(text: str, filename: str = EXAMPLE_FILE) -> tuple[list[K8sObject], dict[str, str]]:
    """The objects of an example (with line numbers) and the files its `# file:` headers ask for."""
    lines = text.splitlines()
    objects: list[K8sObject] = []
    files: dict[str, str] = {}
    for document in load_documents(text, filename):
        if document.node is None:
            continue
        start = document.node.start_mark.line
        first = start
        while first > 0 and lines[first - 1].strip() != "---":
            first -= 1
        end = start
        while end < len(lines) and lines[end].strip() not in ("---", "..."):
            end += 1
        body = "\n".join(lines[first:end]).strip("\n") + "\n"
        file = filename
        origin = None
        for line in lines[first:start]:
            if found := ORIGIN_HEADER.match(line.strip()):
                origin = found.group(1)
            match = FILE_HEADER.match(line.strip())
            if match:
                file = match.group(1)
                rel = PurePosixPath(file)
                if rel.is_absolute() or ".." in rel.parts:
                    raise ValueError(f"example file path must stay inside the repository: {file}")
                files[file] = body
        if isinstance(document.data, dict):
            objects.append(K8sObject(document.data, file, document, origin=origin))
    return objects, files


def run_example(rules: RuleSet, text: str, rule_id: str | None = None) -> list[Finding]:
    """Evaluate `rules` (a RuleSet) over one example in a throw-away repository root; findings of `rule_id`."""
    objects, files = example_objects(text)
    with tempfile.TemporaryDirectory(prefix="shipcard-example-") as tmp:
        root = Path(tmp)
        for rel, body in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        findings = rules.evaluate(objects, root=root)
    return [f for f in findings if rule_id is None or f.rule == rule_id]

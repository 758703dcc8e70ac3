"""Adversarial review of `shipcard import`: each test is one attack a hostile pull request author or a
careless user would try, named by what it tries.

The promises (docs/hardening.md, docs/import.md): bad input is one line `shipcard: FILE:LINE:COL:
field: problem`, exit 2, nothing written (not even `.shipcard/lock`); no secret value in any output;
nothing read outside the input's directory because the input says so; odd but valid input gives
cards that render, build with the real kubectl and check without an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.importers.helpers import every_output, render_build_check, setup, shipcard_import, written

SOURCE = "../legacy/x.yaml"
# Canaries: secret values under neutral names, each of the shape import must recognise.
PEM = "-----BEGIN RSA PRIVATE KEY-----MIIEcanary1-----END RSA PRIVATE KEY-----"
URL = "postgres://app:canary2pw@db.internal/app"
AKIA = "AKIACANARY3XXXXXXXXX"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnk0In0.c2lnbmF0dXJlY2FuYXJ5"
ADO = "Server=db;User Id=app;Password=canary5pw;"
CANARIES = ("canary1", "canary2pw", "CANARY3", "c2lnbmF0dXJlY2FuYXJ5", "canary5pw", "hunter2", "canary6", "canary7")


def legacy(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / "legacy" / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def refused(repo: Path, args: tuple[str, ...], line: str) -> None:
    """The import exits 2 with exactly `shipcard: LINE`, and the repository is unchanged (no lock either)."""
    before = written(repo)
    result = shipcard_import(repo, *args, code=2)
    assert result.output == f"shipcard: {line}\n"
    assert written(repo) == before and not (repo / ".shipcard").exists()


def assert_no_canary(text: str) -> None:
    assert [canary for canary in CANARIES if canary.lower() in text.lower()] == []


# --------------------------------------------------------------------------- special files for FILE


@pytest.mark.parametrize("kind", ["compose", "crontab", "eventbridge", "manifests"])
@pytest.mark.parametrize("special,message", [
    ("fifo", "cannot read: not a regular file"),
    ("device", "cannot read: not a regular file"),
    ("loop", "cannot read: Too many levels of symbolic links"),
    ("non-utf-8", "1:1: file is not valid UTF-8"),
])
def test_a_special_file_as_the_source_is_one_line(tmp_path: Path, kind: str, special: str, message: str) -> None:
    repo = setup(tmp_path)
    path = {"fifo": "../legacy/fifo", "device": "/dev/zero", "loop": "../legacy/loop",
            "non-utf-8": "../legacy/bad.yaml"}[special]
    os.mkfifo(tmp_path / "legacy/fifo")
    (tmp_path / "legacy/loop").symlink_to("loop")
    legacy(tmp_path, "bad.yaml", b"services:\n  w\xff: {}\n")
    extra = {"crontab": ("--image", "nginx:1.27"), "eventbridge": ("--image", "nginx:1.27", "--name", "x")}
    message = message.replace("1:1", "2:1") if special == "non-utf-8" else message
    refused(repo, (kind, path, *extra.get(kind, ())), f"{path}{':' if special == 'non-utf-8' else ': '}{message}")


@pytest.mark.parametrize("kind", ["compose", "crontab"])
def test_a_directory_as_file_is_shipcards_one_line_not_a_usage_error(tmp_path: Path, kind: str) -> None:
    """Was click's three-line usage error; now the reader's one line."""
    repo = setup(tmp_path)
    (tmp_path / "legacy/dir").mkdir()
    extra = ("--image", "nginx:1.27") if kind == "crontab" else ()
    refused(repo, (kind, "../legacy/dir", *extra), "../legacy/dir: cannot read: not a regular file")


@pytest.mark.parametrize("text,line", [
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
     + "services: {web: {image: 'nginx:1.27', command: *h}}\n",
     "6:4: document expands to more than a million nodes (YAML alias bomb?)"),
    ("services: {web: {image: 'nginx:1.27', command: " + "[" * 10000 + "]" * 10000 + "}}\n",
     "1:1: nesting deeper than 200 levels"),
], ids=["alias-bomb", "deep-nesting"])
def test_alias_bombs_and_deep_nesting_in_compose_are_one_line(tmp_path: Path, text: str, line: str) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", text)
    refused(repo, ("compose", SOURCE), f"{SOURCE}:{line}")


def test_a_compose_file_with_a_bom_and_crlf_imports(tmp_path: Path) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", "\ufeffservices:\r\n  web:\r\n    image: nginx:1.27\r\n    env_file: web.env\r\n")
    legacy(tmp_path, "web.env", "\ufeffMODE=fast\r\nexport LEVEL='debug' \r\n")
    shipcard_import(repo, "compose", SOURCE)
    card = (repo / "services/web.service.yaml").read_text()
    assert "  MODE: fast  # from ../legacy/web.env:1 MODE\n  LEVEL: debug # from ../legacy/web.env:2 LEVEL\n" in card


# --------------------------------------------------------------------------- compose: reading outside its directory


@pytest.mark.parametrize("env_file,line", [
    ("../../etc/passwd", "4:5: services.web.env_file: an env_file outside the Compose file's directory is not read"),
    ("/etc/passwd", "4:5: services.web.env_file: an env_file outside the Compose file's directory is not read"),
    ("link.env", "4:5: services.web.env_file: link.env: no such file beside the Compose file"),
    ("fifo.env", "4:5: services.web.env_file: fifo.env: no such file beside the Compose file"),
    ("sub", "4:5: services.web.env_file: sub: no such file beside the Compose file"),
    ("loop.env", "4:5: services.web.env_file: loop.env: no such file beside the Compose file"),
], ids=["climbing", "absolute", "link-out", "fifo", "directory", "link-loop"])
def test_an_env_file_outside_or_special_is_refused_and_not_read(tmp_path: Path, env_file: str, line: str) -> None:
    repo = setup(tmp_path)
    secret = tmp_path / "outside.env"
    secret.write_text("STOLEN=canary6\n")
    (tmp_path / "legacy/link.env").symlink_to(secret)
    (tmp_path / "legacy/loop.env").symlink_to("loop.env")
    os.mkfifo(tmp_path / "legacy/fifo.env")
    (tmp_path / "legacy/sub").mkdir()
    legacy(tmp_path, "x.yaml", f"services:\n  web:\n    image: nginx:1.27\n    env_file: {env_file}\n")
    refused(repo, ("compose", SOURCE), f"{SOURCE}:{line}")


def test_extends_and_include_are_reported_and_their_files_never_opened(tmp_path: Path) -> None:
    """Compose's `extends: {file}` and top-level `include:` name other files: they are FIFOs here, so
    opening one would hang the test."""
    repo = setup(tmp_path)
    os.mkfifo(tmp_path / "legacy/base.yaml")
    os.mkfifo(tmp_path / "legacy/other.yaml")
    legacy(tmp_path, "x.yaml", "include: [other.yaml]\nservices:\n  web:\n    image: nginx:1.27\n"
                               "    extends: {file: base.yaml, service: web}\n")
    result = shipcard_import(repo, "compose", SOURCE)
    assert result.stderr.splitlines()[:2] == [
        f"note: {SOURCE}:1: include: has no card field: not imported",
        f"note: {SOURCE}:5: services.web.extends: has no card field: not imported",
    ]


# --------------------------------------------------------------------------- compose: odd but valid


ODD_COMPOSE = f"""\
services:
  My_Service:
    image: nginx:1.27
    environment:
      - OPTS=a=b=c
      - NEUTRAL_URL={URL}
      - FROM_SHELL
    ports:
      - "8000-8010:8000-8010"
      - "[::1]:8080:80"
      - "53:53/udp"
      - "9000"
    expose: ["3000", "3001/tcp", 3002, "4000-4005", "5353/udp"]
    healthcheck:
      test: ["CMD-SHELL", "curl -f http://localhost:80/ || exit 1"]
      interval: 1m30s
      start_period: 1500ms
    deploy:
      resources:
        limits: {{cpus: '0.5', memory: 1gb}}
        reservations: {{memory: 512M}}
  my-service:
    image: nginx:1.27
    command: ["--db", "{URL}", "--key={AKIA}", "--password", "hunter2"]
    healthcheck: {{disable: true}}
  {"a" * 70}:
    image: nginx:1.27
    environment:
      PEM: "{PEM}"
      TOKENISH: {JWT}
      CONNECTION: "{ADO}"
    healthcheck: {{test: ["NONE"]}}
  ünïcødé:
    image: nginx:1.27
    command: server --dsn={URL}
    healthcheck:
      test: ["CMD", "check", "--auth", "{URL}"]
"""


@pytest.fixture
def odd_compose(tmp_path: Path) -> tuple[Path, str]:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", ODD_COMPOSE)
    report = tmp_path / "report.json"
    result = shipcard_import(repo, "compose", SOURCE, "--report", str(report))
    return repo, every_output(result, repo, report)


def test_odd_compose_names_become_unique_dns_names_of_at_most_40(odd_compose: tuple[Path, str]) -> None:
    """`My_Service` and `my-service` sanitise to one name (was: the import refused, naming no line); 70
    characters would make `<name>-staging` too long for an Application (was: an invalid card)."""
    repo, output = odd_compose
    assert sorted(p.name for p in (repo / "services").glob("*.service.yaml")) == [
        "a" * 40 + ".service.yaml", "my-service-2.service.yaml", "my-service.service.yaml", "n-c-d.service.yaml"]
    assert f"note: {SOURCE}:22: services.my-service: another imported service is named my-service: this one is " \
           "my-service-2 (its clients need the new name)\n" in output


def test_odd_compose_secret_values_appear_in_no_output(odd_compose: tuple[Path, str]) -> None:
    """Values under neutral names (a URL with a password, a PEM key, a JWT, a connection string), command
    words (was: copied into `args`) and a probe's command (was: copied into `exec`)."""
    repo, output = odd_compose
    assert_no_canary(output)
    card = (repo / "services/my-service-2.service.yaml").read_text()
    assert "args:  # from ../legacy/x.yaml:24 services.my-service.command\n  - --db\n  - $(ARGS_1)\n" \
           "  - --key=$(ARGS_2)\n  - --password\n  - $(ARGS_4)\n" in card
    assert "    ARGS_1: fill-in/my-service-2/ARGS_1  # from ../legacy/x.yaml:24 services.my-service.command\n" in card
    unicode = (repo / "services/n-c-d.service.yaml").read_text()
    assert "health" not in unicode and "  - --dsn=$(ARGS_1)\n" in unicode
    for disabled in ("my-service-2", "a" * 40):  # `disable: true`, `test: [NONE]`
        assert "health" not in (repo / f"services/{disabled}.service.yaml").read_text()
    assert f"note: {SOURCE}:37: services.ünïcødé.healthcheck.test: a word of it looks secret, and a probe's " \
           "command cannot take it from a secret: not imported (its value was not copied)\n" in output


def test_odd_compose_ports_and_resources(odd_compose: tuple[Path, str]) -> None:
    repo, output = odd_compose
    card = (repo / "services/my-service.service.yaml").read_text()
    block = card.split("ports:\n")[1].splitlines()
    ports = [line.split("#")[0].rstrip() for line in block[:next(i for i, line in enumerate(block) if line[0] != " ")]]
    assert ports == ["  - name: http", "    port: 80", "    servicePort: 8080", "    protocol: http",
                     "  - name: http-9000", "    port: 9000", "    protocol: http",
                     "  - name: http-3000", "    port: 3000", "    protocol: http",
                     "  - name: http-3001", "    port: 3001", "    protocol: http",
                     "  - name: http-3002", "    port: 3002", "    protocol: http"]
    for line in (f"{SOURCE}:9: services.My_Service.ports[0]: a port range has no card field: not imported",
                 f"{SOURCE}:11: services.My_Service.ports[2]: a udp port has no card field: not imported",
                 f"{SOURCE}:13: services.My_Service.expose[3]: a port range has no card field: not imported",
                 f"{SOURCE}:13: services.My_Service.expose[4]: expose takes a container port (tcp): not imported",
                 f"{SOURCE}:7: services.My_Service.environment[2]: FROM_SHELL takes its value from the shell "
                 "running Compose: not imported"):
        assert f"note: {line}\n" in output  # expose ranges and UDP were dropped without a word
    assert "  OPTS: a=b=c  #" in card and "    period: 90\n    initialDelay: 2\n" not in card
    assert "    initialDelay: 2\n    period: 90\n" in card
    assert "  cpu: 500m  #" in card and "  memory: 512Mi #" in card and "    memory: 1Gi #" in card


@pytest.mark.kubectl
def test_odd_compose_cards_render_build_and_check_clean(odd_compose: tuple[Path, str], kubectl: str) -> None:
    repo, _ = odd_compose
    built, _ = render_build_check(repo, kubectl)
    deployment = next(o for o in built["apps/my-service-2/overlays/prod"] if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--db", "$(ARGS_1)", "--key=$(ARGS_2)", "--password", "$(ARGS_4)"]
    assert_no_canary(json.dumps(built))


@pytest.mark.parametrize("port,line", [
    ('"70000:80"', "6:9: services.web.ports[0]: a port is a number from 1 to 65535"),
    ('"0"', "6:9: services.web.ports[0]: a port is a number from 1 to 65535"),
    ('"80:80:80"', "6:9: services.web.ports[0]: not a Compose port ([HOST:]CONTAINER[/PROTOCOL])"),
], ids=["above-65535", "zero", "three-parts"])
def test_a_port_out_of_range_is_located_in_the_compose_file(tmp_path: Path, port: str, line: str) -> None:
    """Was: `the imported card is not valid: services/web.service.yaml:9:5: …`, a card never written."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", f"services:\n  web:\n    image: nginx:1.27\n    environment: {{PASSWORD: canary7}}\n"
                               f"    ports:\n      - {port}\n")
    refused(repo, ("compose", SOURCE), f"{SOURCE}:{line}")


def test_a_name_of_no_latin_letter_says_to_rename_the_service(tmp_path: Path) -> None:
    """Was: `pass --name`, an option `import compose` does not have."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", "services:\n  日本:\n    image: nginx:1.27\n")
    refused(repo, ("compose", SOURCE), f"{SOURCE}:2:3: services.日本: cannot derive a service name (DNS-1035 "
                                       "label): rename the service")


# --------------------------------------------------------------------------- --report and existing files


@pytest.mark.parametrize("report,line", [
    ("services/web.service.yaml", "services/web.service.yaml: --report names services/web.service.yaml, which the "
                                  "import writes; write the report elsewhere"),
    ("shipcard.yaml", "shipcard.yaml: already exists in the repository (rerun with --force to overwrite)"),
    ("services", "services: --report names a directory"),
    ("loop.json", "loop.json: --report is a link that leads nowhere (or to itself)"),
    (SOURCE, f"{SOURCE}: --report names an input of the import; write the report elsewhere"),
], ids=["a-card-it-writes", "the-settings", "a-directory", "a-link-loop", "the-input"])
def test_a_report_that_would_replace_a_file_is_refused_before_anything_is_written(tmp_path: Path, report: str,
                                                                                 line: str) -> None:
    """Was: the report replaced the card just written, or shipcard.yaml, without --force; a link loop
    failed after the cards were written; a directory was click's usage error."""
    repo = setup(tmp_path)
    (repo / "loop.json").symlink_to("loop.json")
    legacy(tmp_path, "x.yaml", "services:\n  web:\n    image: nginx:1.27\n")
    refused(repo, ("compose", SOURCE, "--report", report), line)


def test_an_existing_card_is_kept_and_no_lock_left(tmp_path: Path) -> None:
    repo = setup(tmp_path)
    (repo / "services/web.service.yaml").write_text("# mine\n")
    legacy(tmp_path, "x.yaml", "services:\n  web:\n    image: nginx:1.27\n")
    refused(repo, ("compose", SOURCE), "services/web.service.yaml: already exists (rerun with --force to overwrite)")


# --------------------------------------------------------------------------- crontab


def test_a_crontab_command_over_the_card_size_is_refused(tmp_path: Path) -> None:
    """Was: a 2 MB card written, which `render` then refused to read (1 MiB per card)."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.crontab", "0 * * * * /usr/bin/run " + "a" * 2_000_000 + "\n")
    refused(repo, ("crontab", "../legacy/x.crontab", "--image", "nginx:1.27"),
            "../legacy/x.crontab: the imported card services/x.service.yaml would have 2000507 bytes, more than the "
            "1048576 a card may have")


@pytest.mark.parametrize("line,message", [
    ("*/0 * * * * a", "1:1: schedule: the API server would refuse it: minute '*/0': the step must be a positive "
                      "number"),
    ("60 * * * * a", "1:1: schedule: the API server would refuse it: minute '60': above the maximum (59)"),
    ("@every 5m a", "1:1: schedule: unknown macro @every (one of @reboot, @yearly, @annually, @monthly, @weekly, "
                    "@daily, @midnight, @hourly)"),
    ("* * * * a", "1:1: schedule: expected five schedule fields and a command"),
    ("TZ=Mars/Olympus", "1:4: TZ: not a time zone of the IANA database (e.g. Etc/UTC, Europe/Berlin, "
                        "America/New_York)"),
], ids=["step-zero", "minute-60", "unknown-macro", "four-fields", "bad-zone"])
def test_crontab_lines_the_api_server_refuses_are_located(tmp_path: Path, line: str, message: str) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.crontab", line + "\n")
    refused(repo, ("crontab", "../legacy/x.crontab", "--image", "nginx:1.27"), f"../legacy/x.crontab:{message}")


ODD_CRONTAB = (
    "\ufeffCRON_TZ=Europe/Paris\r\n"
    f"DATABASE={URL}\r\n"
    "1-5/2 * * JAN mon /usr/bin/backup.sh --all # nightly\r\n"
    "@yearly python3 -m app.tasks.cleanup\r\n"
    "0 0 * * 7 sunday\r\n"
    "0 0 * * 5-7 weekend\r\n"
    "0 0 * * 1-7/2 odd-days\r\n"
    "0 0 1 * 0-7 any-day\r\n"
    f"0 3 * * * pg_dump '{URL}' --password='hunter2 x' > /tmp/dump\r\n"
)


def test_odd_crontab_lines_import_with_sunday_as_zero_and_secrets_hidden(tmp_path: Path) -> None:
    """A BOM (was: the first line misread as a schedule), CRLF, names, steps; `1-7/2` (was: refused,
    Kubernetes has no 7) and `0-7` (was: `*`, which changes cron's day-of-month OR day-of-week rule)."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.crontab", ODD_CRONTAB)
    result = shipcard_import(repo, "crontab", "../legacy/x.crontab", "--image", "nginx:1.27")
    card = (repo / "services/x.service.yaml").read_text()
    assert [line.split("#")[0].strip() for line in card.splitlines() if "schedule:" in line] == [
        "schedule: 1-5/2 * * JAN mon", "schedule: '@yearly'", "schedule: 0 0 * * 0", "schedule: 0 0 * * 5-6,0",
        "schedule: 0 0 * * 1-6/2,0", "schedule: 0 0 1 * 0-6", "schedule: 0 3 * * *"]
    assert "      - pg_dump $(PG_DUMP_COMMAND_1) --password=$(PG_DUMP_COMMAND_2) > /tmp/dump\n" in card
    assert "    DATABASE: fill-in/x/DATABASE  # from ../legacy/x.crontab:2 DATABASE\n" in card
    assert_no_canary(every_output(result, repo))


@pytest.mark.kubectl
def test_odd_crontab_card_renders_builds_and_checks_clean(tmp_path: Path, kubectl: str) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.crontab", ODD_CRONTAB)
    shipcard_import(repo, "crontab", "../legacy/x.crontab", "--image", "nginx:1.27")
    built, _ = render_build_check(repo, kubectl)
    assert_no_canary(json.dumps(built))


# --------------------------------------------------------------------------- eventbridge


@pytest.mark.parametrize("expression,printed", [
    ("cron(0/15 * * * ? *)", "schedule '0/15 * * * *', timeZone Etc/UTC\n"),
    ("cron(0 18 ? * MON-FRI *)", "schedule '0 18 * * MON-FRI', timeZone Etc/UTC\n"),
    ("cron(0 2 ? * 1-7 *)", "schedule '0 2 * * 0-6', timeZone Etc/UTC\n"),
    ("rate(1 minute)", "schedule '* * * * *', timeZone Etc/UTC\n"),
    ("rate(15 minutes)", "schedule '*/15 * * * *', timeZone Etc/UTC\n"),
    ("CRON(0 2 * * ? *)", "schedule '0 2 * * *', timeZone Etc/UTC\n"),
    ("Rate(6 Hours)", "schedule '0 */6 * * *', timeZone Etc/UTC\n"),
], ids=["increments", "weekday-names", "weekday-numbers", "rate-1-minute", "rate-15", "upper-case-cron",
        "mixed-case-rate"])
def test_eventbridge_expressions_print_their_kubernetes_schedule(tmp_path: Path, expression: str,
                                                                 printed: str) -> None:
    """`CRON(…)` and `Rate(…)` were taken for file names (`cannot read: No such file or directory`)."""
    repo = setup(tmp_path)
    result = shipcard_import(repo, "eventbridge", expression)
    assert result.stdout == printed


@pytest.mark.parametrize("expression,message", [
    ("rate(0 minutes)", "not a valid EventBridge rate expression: the value '0' is not a positive whole number"),
    ("rate(7 minutes)", "rate(7 minutes) has no exact cron equivalent: cron restarts its count every hour (use a "
                        "number of minutes dividing 60, or a cron() expression)"),
    ("cron(0 2 ? * SAT-SUN *)", "as Kubernetes cron (0 2 * * SAT-SUN) it is refused: day of week 'SAT-SUN': the "
                                "range starts after it ends"),
    ("cron(0 2 ? * 0 *)", "day-of-week 0 is not 1-7 (SUN-SAT)"),
    ("cron(0 2 L * ? *)", "day-of-month 'L' uses L (the last day of the month), which Kubernetes cron cannot "
                          "express"),
    ("cron(0 2 * * ? 2027)", "the year field '2027' restricts years: a Kubernetes schedule has no year"),
    ("at(2026-12-24T18:00:00)", "at(...) is a one-time schedule: a CronJob repeats (run it once with `kubectl "
                                "create job`)"),
], ids=["rate-zero", "rate-7-minutes", "weekday-wrap", "weekday-zero", "last-day", "year", "one-time"])
def test_eventbridge_expressions_without_an_equivalent_are_one_line(tmp_path: Path, expression: str,
                                                                    message: str) -> None:
    repo = setup(tmp_path)
    refused(repo, ("eventbridge", expression), f"the command line: EXPRESSION: {message}")


# --------------------------------------------------------------------------- manifests


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.2.0
"""


def test_two_deployments_of_one_name_in_two_namespaces(tmp_path: Path) -> None:
    """Was: `two imported services would be named 'api'`, with no line, even for --workload."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", DEPLOYMENT.format(namespace="a") + "---\n" + DEPLOYMENT.format(namespace="b"))
    refused(repo, ("manifests", SOURCE, "--workload", "api"),
            f"{SOURCE}:15:12: metadata.name: a second workload named 'api' (another namespace's; the first: "
            f"{SOURCE} line 3): import both with --all")
    result = shipcard_import(repo, "manifests", SOURCE, "--all")
    assert result.stdout == "".join(f"wrote {path}\n" for name in ("api", "api-2") for path in (
        f"services/{name}.service.yaml", f"apps/{name}/custom/kustomization.yaml",
        f"apps/{name}/custom/deployment-patch.yaml"))  # the patch keeps the pod label `app: api`


def test_a_list_is_read_item_by_item_and_unknown_kinds_reported(tmp_path: Path) -> None:
    """`kubectl get -o yaml` prints a `kind: List` (was: refused, `not a Kubernetes object`)."""
    repo = setup(tmp_path)
    items = DEPLOYMENT.format(namespace="a").replace("\n", "\n    ")
    legacy(tmp_path, "x.yaml", "apiVersion: v1\nkind: List\nitems:\n  - " + items.rstrip() + "\n"
                               "  - {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, "
                               "spec: {password: canary6}}\n")
    result = shipcard_import(repo, "manifests", SOURCE)
    assert result.stdout.splitlines()[0] == "wrote services/api.service.yaml"
    assert f"note: {SOURCE}:15: items[1].metadata.name: Widget w belongs to no imported workload: not imported\n" \
           in result.stderr
    assert_no_canary(every_output(result, repo))


@pytest.mark.parametrize("text,line", [
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: {{ .Values.n }}\n",
     "5:14: found unhashable key"),
    (DEPLOYMENT.format(namespace="a").replace("registry.example.com/api:1.2.0", '"{{ .Values.image }}"'),
     "11:11: spec.template.spec.containers[0].image: an image reference cannot be empty or contain spaces"),
    ("apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap}]\n", "3:9: items[0]: not a Kubernetes object (kind "
                                                                  "and metadata.name)"),
], ids=["helm-template", "helm-quoted-template", "list-of-a-nameless-item"])
def test_helm_templates_and_broken_lists_are_one_line(tmp_path: Path, text: str, line: str) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", text)
    refused(repo, ("manifests", SOURCE), f"{SOURCE}:{line}")


SIDECARS = DEPLOYMENT.format(namespace="shop") + f"""\
          args: ["--db", "{URL}"]
          env:
            - {{name: NEUTRAL, value: "{AKIA}"}}
        - name: proxy
          image: registry.example.com/proxy:1.0.0
          command: ["proxy", "--upstream={URL}", "--token", "hunter2"]
          env:
            - {{name: MODE, value: fast}}
            - {{name: DB_PASSWORD, value: canary7}}
            - {{name: CERT, value: "{PEM}"}}
      initContainers:
        - name: migrate
          image: registry.example.com/api:1.2.0
          args: ["migrate", "--password=hunter2"]
---
apiVersion: v1
kind: Secret
metadata: {{name: db}}
stringData: {{password: canary6}}
data: {{token: Y2FuYXJ5Ng==}}
"""


def test_sidecar_and_init_container_secrets_become_references_to_the_cards_secret(tmp_path: Path) -> None:
    """Was: a sidecar's literal `DB_PASSWORD` and command words copied into custom/deployment-patch.yaml
    (and `check` failing on secret-literal-in-env)."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", SIDECARS)
    result = shipcard_import(repo, "manifests", SOURCE)
    assert_no_canary(every_output(result, repo))
    patch = (repo / "apps/api/custom/deployment-patch.yaml").read_text()
    assert """\
      - name: proxy
        image: registry.example.com/proxy:1.0.0
        command:
        - proxy
        - --upstream=$(PROXY_COMMAND_1)
        - --token
        - $(PROXY_COMMAND_3)
        env:
        - name: MODE
          value: fast
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: api-secrets
              key: DB_PASSWORD
""" in patch
    card = (repo / "services/api.service.yaml").read_text()
    assert [line.split(":")[0].strip() for line in card.split("  env:\n")[1].split("args:")[0].splitlines()] == [
        "ARGS_1", "NEUTRAL", "DB_PASSWORD", "CERT", "PROXY_COMMAND_1", "PROXY_COMMAND_3", "MIGRATE_ARGS_1"]


@pytest.mark.kubectl
def test_sidecar_secrets_render_build_and_check_clean(tmp_path: Path, kubectl: str) -> None:
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", SIDECARS)
    shipcard_import(repo, "manifests", SOURCE)
    built, _ = render_build_check(repo, kubectl)
    assert_no_canary(json.dumps(built))
    pod = next(o for o in built["apps/api/overlays/prod"] if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    proxy = next(c for c in pod["containers"] if c["name"] == "proxy")
    assert proxy["env"][1] == {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "api-secrets",
                                                                                     "key": "DB_PASSWORD"}}}


def test_a_mounted_configmap_key_that_looks_secret_is_reported(tmp_path: Path) -> None:
    """A mounted ConfigMap is kept as the source has it (custom/); a secret-looking key is now said."""
    repo = setup(tmp_path)
    legacy(tmp_path, "x.yaml", DEPLOYMENT.format(namespace="a").replace(
        "      containers:", "      volumes: [{name: conf, configMap: {name: conf}}]\n      containers:")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {db_password: x}\n")
    result = shipcard_import(repo, "manifests", SOURCE)
    assert f"note: {SOURCE}:17: data.db_password: ConfigMap conf key db_password looks secret (its value is not " \
           "shown): it is kept as the source has it; move it to your secret store\n" in result.stderr


# --------------------------------------------------------------------------- what is taken for a secret


@pytest.mark.parametrize("name,value,secret", [
    ("DB_PWD", "x", True), ("DATABASE_CONNECTION_STRING", "x", True), ("AWS_SECRET_ACCESS_KEY", "x", True),
    ("DD_API_KEY", "x", True), ("GITHUB_TOKEN", "x", True), ("SMTP_CREDS", "x", True), ("CREDS", "x", True),
    ("NEUTRAL", PEM, True), ("NEUTRAL", URL, True), ("NEUTRAL", AKIA, True), ("NEUTRAL", JWT, True),
    ("NEUTRAL", ADO, True),
    ("KEYBOARD_LAYOUT", "us", False), ("PATH_PREFIX", "/api", False), ("PUBLIC_URL", "https://shop.example.com/",
                                                                        False),
], ids=lambda value: str(value)[:24])
def test_what_is_taken_for_a_secret_by_name_or_value(name: str, value: str, secret: bool) -> None:
    """ECS-like names (`…_PWD`, connection strings, `…_CREDS`) were copied as plain env."""
    from shipcard.importers.result import looks_secret

    assert looks_secret(name, value) is secret


@pytest.mark.helm
@pytest.mark.kubectl
def test_odd_compose_cards_in_the_helmfile_format_render_and_check_clean(odd_compose: tuple[Path, str],
                                                                         kubectl: str) -> None:
    """The `$(ARGS_N)` words and secret references through the vendored chart (`check` runs helm template)."""
    repo, _ = odd_compose
    for card in (repo / "services").glob("*.service.yaml"):
        card.write_text(card.read_text() + "gitops:\n  format: helmfile\n")
    built, _ = render_build_check(repo, kubectl)
    assert built == {}  # no Kustomize overlay: every card is a helmfile release
    values = (repo / "apps/my-service-2/values").rglob("*.yaml")
    assert any("$(ARGS_1)" in path.read_text() for path in values)
    assert_no_canary("".join(p.read_text() for p in (repo / "apps").rglob("*.yaml")))

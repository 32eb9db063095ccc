"""CI outputs: `harness analyze --junit` validates against the JUnit schema CI servers
read (the Jenkins xUnit plugin's junit-10.xsd), one test case per check kind; and
`--summary-md` is a job summary with the verdict, counts, examples and a link.

The schema is the copy pytest validates its own ``--junitxml`` output against
(``testing/example_scripts/junit-10.xsd`` in the pytest 9.2.0 source distribution, MIT
licence in its header), kept in ``tests/harness/data`` so the suite needs no network:
an earlier version downloaded it at test time and timed out on a loaded machine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from harness.checks import check_history
from harness.report.ci import junit_xml, summary_markdown
from tests.harness.test_analyze_cli import analyze, clean_history, run_folder
from tests.harness.test_checks_completion import f4_f5_slow_worker_rescued

KINDS = [
    "lost", "duplicate_completion", "stale_completion", "resurrection", "double_claim",
    "unexpected", "audit_mismatch", "stuck",
]  # fmt: skip


SCHEMA = Path(__file__).parent / "data" / "junit-10.xsd"


@pytest.fixture(scope="session")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def _cases(document: str) -> dict[str, ET.Element]:
    root = ET.fromstring(document)
    return {case.get("name", ""): case for case in root.iter("testcase")}


def test_one_testcase_per_kind_and_a_violated_kind_fails_with_its_explanation(
    junit_schema: xmlschema.XMLSchema,
) -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=60, drained=True)
    document = junit_xml(report, run_info={"impl": "naive"}, name="run-1")
    junit_schema.validate(document)
    root = ET.fromstring(document)
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8", "failures": "3", "errors": "0", "skipped": "2",
    }  # fmt: skip
    cases = _cases(document)
    assert list(cases) == KINDS
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {"duplicate_completion", "stale_completion", "double_claim"}
    stale = cases["stale_completion"].find("failure")
    assert stale is not None
    expected = report.results["stale_completion"].violations[0].explanation
    assert stale.get("message") == expected
    assert "task t1 (events 2, 3, 6, 7, 8, 9)" in (stale.text or "")
    skipped = cases["audit_mismatch"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not exercised: no audit.json: nothing to compare"
    stuck = cases["stuck"].find("skipped")
    assert stuck is not None
    assert stuck.get("message") == "not exercised: needs audit.json of a drained run"
    assert len(cases["lost"]) == 0  # a plain pass: no child element
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["verdict"] == "fail"
    assert properties["impl"] == "naive"


def test_an_undecided_check_is_an_error(junit_schema: xmlschema.XMLSchema) -> None:
    frame = clean_history().frame()
    report = check_history(frame.iloc[:-2].reset_index(drop=True), lease_timeout=60)
    document = junit_xml(report, run_info={}, name="undecided")
    junit_schema.validate(document)
    error = _cases(document)["lost"].find("error")
    assert error is not None
    assert error.get("type") == "unknown"
    assert error.get("message") == report.results["lost"].note


def test_the_schema_check_can_fail(junit_schema: xmlschema.XMLSchema) -> None:
    """A test case without its required name is rejected: the validation is real."""
    report = check_history(clean_history().frame(), lease_timeout=60, drained=True)
    document = junit_xml(report, run_info={}, name="ok").replace('name="lost" ', "", 1)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        junit_schema.validate(document)


def test_the_job_summary_has_verdict_counts_an_example_per_kind_and_the_link() -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=60, drained=True)
    url = "https://ci.example/artifacts/run-1/index.html"
    md = summary_markdown(
        report, run_info={"impl": "naive", "profile": "janitor_race"}, report_link=url, name="r1"
    )
    lines = md.splitlines()
    assert lines[0] == "### ❌ qharness: FAIL — r1"
    assert lines[2].startswith("impl: naive · profile: janitor_race · ops: ")
    assert lines[4] == "3 of 8 checks violated, 0 unknown, 2 not exercised."
    assert "| double_claim | ❌ fail | 1 |" in lines
    assert "| audit_mismatch | ✅ not exercised | 0 |" in lines
    examples = [line for line in lines if line.startswith("**")]
    assert [line.split("**")[1] for line in examples] == [
        "duplicate_completion", "stale_completion", "double_claim",
    ]  # fmt: skip
    assert examples[2].endswith(f"[interleaving]({url}#double_claim-1)")
    assert lines[-1] == f"Full report: [{url}]({url})"


def test_analyze_writes_both_files_and_keeps_its_exit_code(tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", f4_f5_slow_worker_rescued().events, {"drained": True})
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    out = analyze(
        str(run), "--lease-timeout", "60", "--junit", str(junit), "--summary-md", str(summary)
    )
    assert out.returncode == 1, out.stderr
    assert len(_cases(junit.read_text())) == 8
    assert summary.read_text().endswith(
        f"Full report: [{run / 'index.html'}]({run / 'index.html'})\n"
    )
    unwritable = analyze(str(run), "--junit", str(tmp_path / "missing" / "junit.xml"))
    assert unwritable.returncode == 2
    assert unwritable.stderr.startswith("harness analyze: error: cannot write ")

"""What a CI system reads: a JUnit XML document and a job-summary Markdown page.

``junit_xml``: one ``<testcase>`` per check kind in one ``<testsuite>``. A violated kind
is a ``<failure>`` whose message is its first violation's explanation (every shown
violation in the body); a check that could not decide (verdict unknown) is an
``<error>``; a check with nothing to look at (a vacuous pass, "not exercised") is
``<skipped>``. The layout follows the Jenkins xUnit plugin's ``junit-10.xsd``, which
GitLab, GitHub actions and Jenkins all read.

``summary_markdown``: a page sized for a CI job summary (e.g. ``$GITHUB_STEP_SUMMARY``):
the verdict, the counts, the top example per violated kind, and a link to the full
report. Both are pure functions of a :class:`CheckReport` and the run's ``run.json``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from harness.checks.verdicts import CheckReport, CheckResult, Verdict
from harness.report.ledger import anchor

SUITE = "qharness"
CLASSNAME = "qharness.checks"
SHOWN = 5  # violations written into a failure's body (all are in violations.json)
EXCERPT = 400  # characters of an explanation in the job summary
ICON = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.UNKNOWN: "❔"}
SUITES_COUNTS = ("tests", "failures", "errors")
RUN_FIELDS = ("impl", "profile", "source", "duration_s", "lease_timeout", "seed")


def junit_xml(report: CheckReport, *, run_info: dict[str, Any], name: str) -> str:
    """The JUnit XML document (UTF-8 text with its declaration)."""
    results = list(report.results.values())
    tally = _tally(results)
    # junit-10.xsd: <testsuites> counts no skipped tests; <testsuite> does.
    suites = ET.Element("testsuites", {"name": SUITE, **{k: tally[k] for k in SUITES_COUNTS}})
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.SubElement(
        suites, "testsuite", {"name": f"{SUITE}: {name}", "timestamp": stamp, **tally}
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in _properties(report, run_info):
        ET.SubElement(properties, "property", name=key, value=value)
    for result in results:
        _testcase(suite, result)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _tally(results: list[CheckResult]) -> dict[str, str]:
    failures = sum(r.verdict is Verdict.FAIL for r in results)
    errors = sum(r.verdict is Verdict.UNKNOWN for r in results)
    skipped = sum(_vacuous(r) for r in results)
    return {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
    }


def _vacuous(result: CheckResult) -> bool:
    return result.verdict is Verdict.PASS and not result.exercised


def _properties(report: CheckReport, run_info: dict[str, Any]) -> Iterable[tuple[str, str]]:
    yield "verdict", str(report.verdict)
    for key in RUN_FIELDS:
        if run_info.get(key) is not None:
            yield key, str(run_info[key])
    for key in ("events", "ops"):
        if key in report.metrics:
            yield key, str(report.metrics[key])


def _testcase(suite: ET.Element, result: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=CLASSNAME, name=result.kind, time="0")
    if result.verdict is Verdict.FAIL:
        first = result.violations[0]
        body = [
            f"{result.count} task(s) violate {result.kind}.",
            *(
                f"- task {v.task_id} (events {', '.join(map(str, v.events))}): {v.explanation}"
                for v in result.violations[:SHOWN]
            ),
        ]
        if len(result.violations) > SHOWN:
            body.append(f"…and {len(result.violations) - SHOWN} more (all in violations.json).")
        failure = ET.SubElement(case, "failure", type=result.kind, message=first.explanation)
        failure.text = "\n".join(body)
    elif result.verdict is Verdict.UNKNOWN:
        error = ET.SubElement(case, "error", type="unknown", message=result.note or "unknown")
        error.text = f"{result.kind} could not be decided: {result.note or 'no reason given'}"
    elif _vacuous(result):
        ET.SubElement(case, "skipped", message=f"not exercised: {result.note}".rstrip(": "))


def summary_markdown(
    report: CheckReport, *, run_info: dict[str, Any], report_link: str, name: str
) -> str:
    """A CI job summary: verdict, counts, the top example per kind, the full report."""
    results = list(report.results.values())
    violated = [r for r in results if r.verdict is Verdict.FAIL]
    verdict = report.verdict
    headline = f"### {ICON[verdict]} qharness: {str(verdict).upper()} — {name}"
    facts = [f"{k}: {run_info[k]}" for k in RUN_FIELDS if run_info.get(k) is not None]
    facts += [f"{k}: {report.metrics[k]:,}" for k in ("ops", "events") if k in report.metrics]
    tally = (
        f"{len(violated)} of {len(results)} checks violated, "
        f"{sum(r.verdict is Verdict.UNKNOWN for r in results)} unknown, "
        f"{sum(_vacuous(r) for r in results)} not exercised."
    )
    out = [headline, "", " · ".join(facts), "", tally, ""]
    out += ["| check | verdict | tasks |", "|---|---|---|"]
    out += [f"| {r.kind} | {ICON[r.verdict]} {_label(r)} | {r.count} |" for r in results]
    out.append("")
    for result in violated:
        first = result.violations[0]
        link = f"{report_link}#{anchor(result.kind, 1)}"
        out += [
            f"**{result.kind}** ({result.count} tasks), e.g. task `{first.task_id}`: "
            f"{_excerpt(first.explanation)} [interleaving]({link})",
            "",
        ]
    out += [f"Full report: [{report_link}]({report_link})", ""]
    return "\n".join(out)


def _label(result: CheckResult) -> str:
    return "not exercised" if _vacuous(result) else str(result.verdict)


def _excerpt(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"

"""Reads a JUnit XML file with junitparser (a consumer nobody in this project wrote) and prints
what it understood as one JSON document: per suite its counters and properties, per test case
its name, class name, outcome (passed, failure, skipped, error), message and text. The Rust test
(harness/tests/run_reports.rs) asserts on that, so the file is checked as CI systems read it."""

import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped


def outcome(case):
    for r in case.result:
        if isinstance(r, Failure):
            return "failure", r.message, r.text
        if isinstance(r, Skipped):
            return "skipped", r.message, r.text
        if isinstance(r, Error):
            return "error", r.message, r.text
    return "passed", None, case.system_out


def main(path):
    xml = JUnitXml.fromfile(path)
    suites = []
    for suite in xml:
        cases = []
        for case in suite:
            kind, message, text = outcome(case)
            cases.append(
                {
                    "name": case.name,
                    "classname": case.classname,
                    "outcome": kind,
                    "message": message,
                    "text": text,
                }
            )
        suites.append(
            {
                "name": suite.name,
                "tests": suite.tests,
                "failures": suite.failures,
                "skipped": suite.skipped,
                "errors": suite.errors,
                "properties": {p.name: p.value for p in suite.properties()},
                "cases": cases,
            }
        )
    print(json.dumps({"suites": suites}))


if __name__ == "__main__":
    main(sys.argv[1])

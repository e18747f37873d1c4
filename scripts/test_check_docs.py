"""Tests of the docs checks (check-history.py, check-docs.py) on made-up text and pages.

Run by .ci/run: `python3 -m unittest discover -s scripts -p 'test_*.py'`. A checker that flags
nothing (or everything) passes on the real repository just as well; these tests say what each
one must find and what it must leave alone.
"""
import importlib.util
import json
import os
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


history = load("check-history")
docs = load("check-docs")


def flagged(line):
    return [why for rx, why in history.COMPILED if rx.search(line)]


class History(unittest.TestCase):
    def test_narration_is_flagged(self):
        for line in [
            "//! Family 11 — a fresh account, modelled (issue 12): the models",
            "/// The suite's wall time measured before issue 13.",
            "# Waits are bounded (Deliver 5, \"Done when\" 1).",
            "The window was 5 s previously.",
            "Today's default: the lifecycle only.",
            "gets an emulator of its own, as before;",
            "Proxy cost before/after the re-layout.",
            "two repeats at main 04136e6, next to the pair of e2f460f",
            "(now one scan of the names)",
            "Empty in journals written before per-service routing.",
        ]:
            with self.subTest(line=line):
                self.assertTrue(flagged(line), f"not flagged: {line}")

    def test_present_tense_text_is_left_alone(self):
        for line in [
            "let now = Instant::now();",
            "t0=$(now)",
            "Resolves once a signal has been received (polls; used to abort the start).",
            "Removes containers of a harness process that no longer runs.",
            "hashicorp/terraform-provider-aws#39064 reports it; the fix is open.",
            "the longest chain of calls each sent after the previous one was answered",
            "a port taken before moto could bind it",
            "the wait is done when the role is readable",
            "after 1234567 requests",
        ]:
            with self.subTest(line=line):
                self.assertEqual(flagged(line), [], f"flagged: {line}")


class Links(unittest.TestCase):
    def build(self, pages):
        root = Path(tempfile.mkdtemp())
        for name, html in pages.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(html, encoding="utf-8")
        return root

    def test_missing_page_and_fragment_are_found(self):
        root = self.build({
            "a.html": '<h2 id="here">x</h2><a href="b.html#there">ok</a><a href="b.html#gone">x</a>'
                      '<a href="nope.html">x</a><a href="#here">ok</a><a href="https://aws.amazon.com/">ok</a>',
            "sub/b.html": '<h2 id="there">y</h2><a href="../a.html#here">ok</a>',
            "b.html": '<h2 id="there">y</h2>',
        })
        problems = []
        docs.check_links(root, problems)
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(any("'b.html#gone'" in p for p in problems), problems)
        self.assertTrue(any("'nope.html'" in p for p in problems), problems)


class BenchTable(unittest.TestCase):
    def test_newest_runs_render_with_their_commit_and_goal(self):
        runs = [
            {"timestamp": "2026-12-04T05:30:00Z", "commit": "04136e6", "pooled_to_warm_ratio": 0.79,
             "slr_wait_overshoot_ms": {"5s": 72, "20s": 24}, "proxy_rps": 29554.0},
        ]
        table = docs.bench_table(runs)
        self.assertIn("| figure | newest | run | before | run | goal |", table)
        self.assertIn("| 0.79 | 2026-12-04 05:30 UTC, 04136e6 | – | – | ≤ 1.2 |", table)
        self.assertIn("| 72 / 24 | 2026-12-04 05:30 UTC, 04136e6 |", table)
        self.assertIn("| 29,554 |", table)
        self.assertNotIn("suite_test_s", table)  # a figure no run has is left out

    def test_a_partial_run_hides_no_figure_of_an_older_full_run(self):
        full = {"timestamp": "2026-12-04T05:30:00Z", "commit": "04136e6", "pooled_to_warm_ratio": 0.79,
                "proxy_rps": 29554.0, "command": "bench"}
        partial = {"timestamp": "2026-12-07T23:41:00Z", "commit": "b480653", "proxy_rps": 30000.0,
                   "command": "bench --only proxy"}
        table = docs.bench_table([partial, full])  # newest first, as load_runs sorts them
        self.assertIn("| 0.79 | 2026-12-04 05:30 UTC, 04136e6 | – | – |", table)
        self.assertIn("| 30,000 | 2026-12-07 23:41 UTC, b480653 | 29,554 | 2026-12-04 05:30 UTC, 04136e6 |",
                      table)
        self.assertIn("`bench --only proxy`", table)
        self.assertIn("`bench`", table)

    def test_every_dated_run_parses_and_names_its_time_and_commit(self):
        for f in sorted((HERE.parent / "bench" / "results").glob("*.json")):
            with self.subTest(file=f.name):
                doc = json.loads(f.read_text(encoding="utf-8"))
                self.assertTrue(doc.get("timestamp") and doc.get("commit"))


class ServicesTable(unittest.TestCase):
    def test_every_service_of_the_operation_table_has_a_row(self):
        table = docs.services_table()
        services = [l.split("\t")[1] for l in docs.OPERATIONS.read_text(encoding="utf-8").splitlines()
                    if l.startswith("S\t")]
        rows = [l for l in table.splitlines() if l.startswith("| `")]
        self.assertEqual(len(rows), len(services))
        self.assertIn("| `ecs` | ECS | `ecs` | json |", table)
        self.assertIn("| `iam` | IAM | `iam` | query |", table)


if __name__ == "__main__":
    unittest.main()

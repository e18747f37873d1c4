#!/usr/bin/env python3
"""Code, comments and docs say why things are as they are, in the present tense; the git log says
when and how they changed. This check (run by .ci/run; `python3 scripts/check-history.py`) finds
the phrases that narrate the project's history instead: its own issue numbers ("issue 13"), test
families by number ("Family 11"), work items ("Deliver 5", "Done when"), "previously", "today's
default", "as before", commit hashes standing for a past state ("at main 04136e6", "since
0fdaaec"), and the like.

It reads every file git tracks, except data (lock files, JSON), and prints each hit as
path:line: phrase. Exit 1 on any hit that ALLOW does not list.

A citation of another project's issue is not history: write it as `owner/repo#123` or
`repo#123` (e.g. `hashicorp/terraform-provider-aws#39064`), which this check does not flag.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A commit hash: 7 to 40 hex digits with at least one letter and one digit (so not a number).
HASH = r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"

# (pattern, what it narrates). Case-insensitive, matched per line.
PATTERNS = [
    (r"\bissues?\s+#?\d+", "the project's issue numbers"),
    (r"\bfamil(y|ies)\s+\d+", "test families by number"),
    (r"\bdeliver\s+\d+|[\"']done when[\"']", "work items of an issue"),
    (r"\bpreviously\b|\bformerly\b", "a past state"),
    (r"\bprevious (session|machine|version|implementation|behaviou?r|code|design|layout|run)s?\b",
     "a past state"),
    (r"\btoday'?s\b", "a past or future state"),
    (r"\b(written|made|built|measured) before (the|this|per-|a )", "a past state"),
    (r"\b(as|than) before\b", "a past state"),
    (r"\bre-?layout\b", "a past restructuring"),
    (r"\bthe old (code|version|behaviou?r|implementation|layout|design)\b", "a past state"),
    (r"\b(we|it|this|they) used to\b", "a past state"),
    (r"(?<![$\w])\(now\s+[a-z]", "a change, as a parenthesis"),
    (r"\b(at|since|of|before|after|commit) (main )?" + HASH, "a commit standing for a past state"),
    (r"\bthis issue\b", "the work that wrote it"),
    (r"\bnot yet (done|implemented)\b|\bfor now\b", "plans, which belong in an issue"),
]
COMPILED = [(re.compile(p, re.IGNORECASE), why) for p, why in PATTERNS]

# Files that are data or that must name the phrases (this check and its tests).
SKIP_SUFFIXES = (".lock", ".json", ".png", ".svg", ".gz")
SKIP_PATHS = {"scripts/check-history.py", "scripts/test_check_docs.py"}

# (path, text on the line) pairs that are allowed: keep this list short, and say why.
ALLOW = [
    # A measured build is named by its commit: the figure belongs to that build.
    ("docs/src/benchmarks.md", "| `faultproxy` of "),
]


def tracked_files():
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [p for p in out.split("\0") if p]


def allowed(path, line):
    return any(path == p and text in line for p, text in ALLOW)


def main():
    hits = 0
    for path in tracked_files():
        if path in SKIP_PATHS or path.endswith(SKIP_SUFFIXES):
            continue
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for rx, why in COMPILED:
                m = rx.search(line)
                if m and not allowed(path, line):
                    print(f"{path}:{n}: {m.group(0)!r} narrates {why}: say why, in the present tense")
                    hits += 1
                    break
    if hits:
        print(f"check-history: {hits} line(s) narrate history (git log holds it); see the docstring",
              file=sys.stderr)
        return 1
    print("check-history: ok (no comment or doc narrates history)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Layout rules the workspace keeps (run by .ci/run; `python3 scripts/check-layout.py`).

1. Every Rust source file starts with a `//!` comment saying why it exists.
2. No source file is over 600 lines.
3. No non-test function is over 100 lines (tests: files under tests/ and `#[cfg(test)]` modules).
4. No import cycle between modules of a crate (a uses b, b uses a, or longer), not counting a
   module and its own ancestors (a child using `super::Trait` that its parent registers is the
   normal shape of a Rust module tree). Every import of every file is read, wherever it stands,
   and so is every `crate::`/`super::`/`self::` path in code (scripts/layout_imports.py says how
   paths are resolved; scripts/test_check_layout.py checks that it finds what it should).

Heuristic on purpose (no Rust parser): it reads imports, paths and brace depth. Prints every
violation with file:line and exits 1 if there is any that is not in scripts/layout-baseline.txt. The baseline is a ratchet for work in progress: it may only shrink
(an entry that no longer occurs is reported so it gets deleted), and it is empty when the
workspace meets every rule.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout_imports as imports  # noqa: E402  (beside this script)

# The workspace checked: this script's, or the one named as the only argument (the checker's own
# tests run it on small made-up crates).
ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["faultproxy", "provisioner", "harness", "scenarios", "bench"]
MAX_FILE_LINES = 600
MAX_FN_LINES = 100

FN_RE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def rust_files(crate):
    for base, dirs, files in os.walk(os.path.join(ROOT, crate)):
        dirs[:] = [d for d in dirs if d != "target"]
        for f in sorted(files):
            if f.endswith(".rs"):
                yield os.path.join(base, f)


def check_functions(path, lines, problems, is_test_file):
    depth = 0
    test_depth = None  # brace depth at which a #[cfg(test)] module opened
    pending_test = False
    open_fns = []  # (name, start line, depth before its body)
    for i, line in enumerate(lines, 1):
        code = line.split("//")[0]
        if "#[cfg(test)]" in code:
            pending_test = True
        m = FN_RE.match(code)
        if m and "{" in code[m.end():] + "{" and not code.rstrip().endswith(";"):
            open_fns.append((m.group(6), i, depth))
        opens, closes = code.count("{"), code.count("}")
        if pending_test and opens:
            test_depth = depth
            pending_test = False
        depth += opens - closes
        while open_fns and depth <= open_fns[-1][2] and (opens or closes):
            name, start, _ = open_fns.pop()
            length = i - start + 1
            in_test = is_test_file or test_depth is not None
            if length > MAX_FN_LINES and not in_test:
                problems.append(f"{path}:{start}: fn {name} is {length} lines (max {MAX_FN_LINES})")
        if test_depth is not None and depth <= test_depth:
            test_depth = None


def main():
    problems = []
    for crate in CRATES:
        crate_dir = os.path.join(ROOT, crate)
        if not os.path.isdir(crate_dir):
            continue
        for path in rust_files(crate):
            rel = os.path.relpath(path, ROOT)
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            first = next((l for l in lines if l.strip()), "")
            if not first.startswith("//!"):
                problems.append(f"{rel}:1: does not start with a //! comment saying why it exists")
            if len(lines) > MAX_FILE_LINES:
                problems.append(f"{rel}: {len(lines)} lines (max {MAX_FILE_LINES})")
            is_test_file = f"{os.sep}tests{os.sep}" in rel or f"{os.sep}benches{os.sep}" in rel
            check_functions(rel, lines, problems, is_test_file)
        for cycle in imports.crate_cycles(crate_dir):
            names = " -> ".join("::".join(m) or "crate" for m in cycle + [cycle[0]])
            problems.append(f"{crate}: import cycle {names}")
    baseline = load_baseline()
    new = [p for p in problems if baseline_key(p) not in baseline]
    known = [p for p in problems if baseline_key(p) in baseline]
    stale = sorted(baseline - {baseline_key(p) for p in problems})
    for p in known:
        print(f"known (in {BASELINE_NAME}): {p}")
    for k in stale:
        print(f"fixed, delete from {BASELINE_NAME}: {k}")
    for p in new:
        print(p)
    if new or stale:
        print(f"check-layout: {len(new)} new problem(s), {len(stale)} stale baseline entr(ies)", file=sys.stderr)
        return 1
    print(f"check-layout: ok (headers, file and function sizes, import cycles; {len(known)} known)")
    return 0


BASELINE_NAME = "scripts/layout-baseline.txt"


def baseline_key(problem):
    """A violation without its line numbers and counts, so the baseline survives edits."""
    return re.sub(r":\d+:|\b\d+ lines", lambda m: ":" if m.group(0).startswith(":") else "N lines", problem)


def load_baseline():
    path = os.path.join(ROOT, BASELINE_NAME)
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as f:
        return {l.strip() for l in f if l.strip() and not l.startswith("#")}


if __name__ == "__main__":
    sys.exit(main())

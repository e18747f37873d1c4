#!/usr/bin/env python3
"""The docs' own checks (run by .ci/run after `mdbook build docs`; `python3 scripts/check-docs.py
--html docs/book`). Standard library only.

1. The README stays a front door: at most README_MAX_LINES lines.
2. Every page under docs/src/ is in docs/src/SUMMARY.md (mdbook itself fails on a listed page
   that does not exist, not on a page nobody links).
3. With --html DIR (the built book): every link between pages and every #fragment resolves to a
   page and an id of the built HTML. Links to other sites are not fetched (CI has no network).
4. bench/results/*.json: each dated run parses and names its time and commit, and the
   benchmarks page's table between <!-- bench:latest --> and <!-- /bench:latest --> is the
   rendering of the newest runs.
5. The services page's table between <!-- services:table --> and <!-- /services:table --> is the
   rendering of faultproxy's operation table (faultproxy/src/aws/table/operations.txt).

`--bless` rewrites the generated tables (4 and 5).

Prints every problem as one line and exits 1 if there is any.
"""
import argparse
import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "docs" / "src"
README_MAX_LINES = 250
RESULTS = ROOT / "bench" / "results"
BENCH_PAGE = SRC / "benchmarks.md"
BENCH_OPEN, BENCH_CLOSE = "<!-- bench:latest -->\n", "<!-- /bench:latest -->"
OPERATIONS = ROOT / "faultproxy" / "src" / "aws" / "table" / "operations.txt"
SERVICES_PAGE = SRC / "reference" / "services.md"
SERVICES_OPEN, SERVICES_CLOSE = "<!-- services:table -->\n", "<!-- /services:table -->"
NEWEST_RUNS = 2

# (key, label, goal) of the benchmarks table; a dict value is shown per window ("5s / 20s").
BENCH_ROWS = [
    ("pooled_account_apply_ms", "`pooled_account_apply_ms` (CLI, account as the harness hands it out)", ""),
    ("pooled_to_warm_ratio", "`pooled_to_warm_ratio` (pooled CLI / warm CLI, same calls)", "≤ 1.2"),
    ("cold_account_apply_ms", "`cold_account_apply_ms` (CLI, untouched account; information)", ""),
    ("warm_account_apply_ms", "`warm_account_apply_ms` (= `apply_ms`, in-process)", "≤ 500"),
    ("cold_to_warm_ratio", "`cold_to_warm_ratio` (information)", ""),
    ("cli_overhead_ms", "`cli_overhead_ms`", ""),
    ("idle_ms", "`idle_ms` (warm in-process apply)", ""),
    ("slr_wait_overshoot_ms", "`slr_wait_overshoot_ms` 5 s / 20 s", "≤ 500"),
    ("retry_overshoot_ms", "`retry_overshoot_ms` 5 s / 20 s", "≤ 500"),
    ("retry_apply_minus_window_ms", "`retry_apply_minus_window_ms` 5 s / 20 s", ""),
    ("proxy_cpu_us_per_req", "proxy CPU µs per request", ""),
    ("nginx_cpu_us_per_req", "nginx CPU µs per request", ""),
    ("proxy_cpu_ratio_to_nginx", "`proxy_cpu_ratio_to_nginx`", "≤ 1.0"),
    ("proxy_rps", "proxy req/s at 64 connections", "≥ 5000"),
    ("nginx_rps", "nginx req/s at 64 connections", ""),
    ("proxy_overhead_p50_us", "proxy p50 overhead µs (in-process)", "≤ 1.5 × nginx"),
    ("nginx_overhead_p50_us", "nginx p50 overhead µs", ""),
    ("suite_test_s", "`suite_test_s` (dev profile)", "< 30"),
    ("run_attach_ms", "`run_attach_ms` (`harness run -- true`, `harness up` running, debug build)", "≤ 300"),
    ("run_cold_ms", "`run_cold_ms` (`harness run -- true` from nothing, debug build)", "≤ 2000"),
    ("moto_shards_speedup", "`moto_shards_speedup` (16 applies at once: default moto processes / one)", "≤ 0.75 on 2 cores"),
]


def check_readme(problems):
    n = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    if n > README_MAX_LINES:
        problems.append(
            f"README.md: {n} lines, at most {README_MAX_LINES}: move the detail into a page under docs/src/"
        )


def check_summary(problems):
    summary = (SRC / "SUMMARY.md").read_text(encoding="utf-8")
    for page in sorted(SRC.rglob("*.md")):
        rel = page.relative_to(SRC).as_posix()
        if rel != "SUMMARY.md" and f"]({rel})" not in summary:
            problems.append(f"docs/src/{rel}: not in docs/src/SUMMARY.md; add a line for it there")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "a" and a.get("href") is not None:
            self.links.append((self.getpos()[0], a["href"]))


def check_links(html_dir, problems):
    pages = {}
    for f in html_dir.rglob("*.html"):
        p = _Page()
        p.feed(f.read_text(encoding="utf-8"))
        pages[f.resolve()] = p
    if not pages:
        problems.append(f"{html_dir}: no HTML pages; build the book first (mdbook build docs)")
        return
    for f, page in sorted(pages.items()):
        if f.name in ("print.html", "404.html", "toc.html"):
            continue  # mdbook's own pages: print.html repeats every chapter's links
        for line, href in page.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//") or not href:
                continue  # another site (not fetched here), or an empty href of mdbook's theme
            target = (f.parent / unquote(parts.path)).resolve() if parts.path else f
            if target.is_dir():
                target = target / "index.html"
            shown = f.relative_to(html_dir.resolve())
            if target not in pages:
                problems.append(f"{shown}:{line}: link {href!r}: no such page in the book")
            elif parts.fragment and unquote(parts.fragment) not in pages[target].ids:
                problems.append(f"{shown}:{line}: link {href!r}: no heading or id {parts.fragment!r} there")


def load_runs(problems):
    runs = []
    for f in sorted(RESULTS.glob("*.json")):
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            problems.append(f"bench/results/{f.name}: not JSON: {e}")
            continue
        missing = [k for k in ("timestamp", "commit") if not doc.get(k)]
        if missing:
            problems.append(f"bench/results/{f.name}: lacks {', '.join(missing)}; add them to the run's JSON")
            continue
        runs.append(doc)
    return sorted(runs, key=lambda d: d["timestamp"], reverse=True)


def cell(v):
    if v is None:
        return "–"
    if isinstance(v, dict):
        return " / ".join(cell(v.get(w)) for w in ("5s", "20s"))
    return f"{v:,.0f}" if abs(v) >= 10000 else f"{v:g}"


def run_label(d):
    return f"{d['timestamp'][:16].replace('T', ' ')} UTC, {d['commit']}"


def bench_table(runs):
    """Per figure, its NEWEST_RUNS newest measurements, each with its run: a run that measured
    only some parts (`--only run`) hides nothing another run measured."""
    head = "| figure | " + " | ".join(
        ("newest" if i == 0 else "before") + " | run" for i in range(NEWEST_RUNS)
    ) + " | goal |\n"
    out = head + "|---|" + "---:|---|" * NEWEST_RUNS + "---|\n"
    shown = {}
    for key, label, goal in BENCH_ROWS:
        measured = [d for d in runs if d.get(key) is not None][:NEWEST_RUNS]
        if not measured:
            continue
        cells = [f"{cell(d[key])} | {run_label(d)}" for d in measured]
        cells += ["– | –"] * (NEWEST_RUNS - len(measured))
        out += f"| {label} | " + " | ".join(cells) + f" | {goal} |\n"
        for d in measured:
            shown[run_label(d)] = d.get("command", "")
    commands = [f"{label}: `{c}`" for label, c in sorted(shown.items(), reverse=True) if c]
    if commands:
        out += "\nCommands: " + "; ".join(commands) + ".\n"
    return out


def replace_block(page, open_line, close_line, table, bless, problems, fix):
    """Checks (or with bless rewrites) the text between open_line and close_line of page."""
    text = page.read_text(encoding="utf-8")
    start = text.find(open_line)
    end = text.find(close_line, start + 1)
    shown = page.relative_to(ROOT).as_posix()
    if start < 0 or end < 0:
        problems.append(f"{shown}: lacks the lines {open_line.strip()} and {close_line}")
        return
    start += len(open_line)
    if text[start:end] == table:
        return
    if bless:
        page.write_text(text[:start] + table + text[end:], encoding="utf-8")
        print(f"check-docs: rewrote the generated table of {shown}")
    else:
        problems.append(f"{shown}: the table between {open_line.strip()} and {close_line} differs from {fix}; "
                        "run python3 scripts/check-docs.py --bless")


def check_bench(bless, problems):
    runs = load_runs(problems)
    if not runs:
        problems.append("bench/results/: no dated run to show on the benchmarks page")
        return
    replace_block(BENCH_PAGE, BENCH_OPEN, BENCH_CLOSE, bench_table(runs), bless, problems, "bench/results/")


def services_table():
    """One row per service of the operation table: its records are TAB-separated, an `S` line
    per service (name, endpoint prefix, signing name, target prefix, protocols, ..., service id,
    throttling shape) followed by its `O` (operation) lines."""
    rows, current = [], None
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        f = line.split("\t")
        if f[0] == "S":
            current = {"name": f[1], "signing": f[3], "protocols": f[5].replace(",", ", "),
                       "id": f[10], "ops": 0}
            rows.append(current)
        elif f[0] == "O" and current is not None:
            current["ops"] += 1
    out = f"{len(rows)} services, {sum(r['ops'] for r in rows):,} operations.\n\n"
    out += "| service | AWS name | signing name | protocol | operations |\n|---|---|---|---|---:|\n"
    for r in rows:
        out += f"| `{r['name']}` | {r['id']} | `{r['signing']}` | {r['protocols']} | {r['ops']} |\n"
    return out


def check_services(bless, problems):
    replace_block(SERVICES_PAGE, SERVICES_OPEN, SERVICES_CLOSE, services_table(), bless, problems,
                  "faultproxy/src/aws/table/operations.txt")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, help="the built book (mdbook build docs -> docs/book)")
    ap.add_argument("--bless", action="store_true", help="rewrite the generated tables")
    args = ap.parse_args()
    problems = []
    check_readme(problems)
    check_summary(problems)
    check_bench(args.bless, problems)
    check_services(args.bless, problems)
    if args.html:
        check_links(args.html, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"check-docs: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-docs: ok (README size, SUMMARY, benchmarks and services tables"
          + (", links)" if args.html else ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

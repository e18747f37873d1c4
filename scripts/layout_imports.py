"""The module graph of one crate, for check-layout.py's import-cycle rule.

Every file under the crate's src/ is read whole: `use` statements (grouped `{..}` trees,
`self`, aliases) wherever they stand, and every path spelled from `crate::`, `super::` or
`self::` in code (a type named inline, `crate::routes::RouteError`, is as much a dependency as
an import). Comments, string and char literals are blanked first so text in them is not read.

A path is resolved to the module that defines what it names: through the file modules, then
through the names each module binds with `use` (so `crate::Error`, re-exported by lib.rs, leads
to `error`, and `super::Upstreams`, imported by a parent, leads to where the parent got it).

Each file is one node of the graph. Imports inside an inline module marked `#[cfg(test)]` are
read too, but belong to that test module (a child of the file's module that nothing imports), so
a test-only import never closes a cycle; everything else in a file, inline modules included,
belongs to the file. Heuristic on purpose: no Rust parser, no macro expansion.
"""
import os
import re

STRIP_RE = re.compile(
    r"""
      //[^\n]*
    | /\*.*?\*/
    | (?<![\w])b?r(\#*)".*?"\1
    | (?<![\w])b?"(?:\\.|[^"\\])*"
    | (?<![\w])b?'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'
    """,
    re.X | re.S,
)

TOKEN_RE = re.compile(
    r"""
      (?P<cfgtest>\#\[cfg\(test\)\])
    | (?P<mod>\bmod\s+(?P<modname>\w+)\s*(?P<modend>[{;]))
    | (?P<use>\buse\s+(?P<tree>[^;]*);)
    | (?P<path>(?<![\w$:])(?P<head>crate|super|self)(?P<rest>(?:\s*::\s*\w+)+))
    | (?P<open>\{)
    | (?P<close>\})
    | (?P<semi>;)
    """,
    re.X,
)

WORD_RE = re.compile(r"\w+")
ALIAS_RE = re.compile(r"@(\w+)")


def strip_code(text):
    """Blank comments and string/char literals, keeping line breaks."""
    return STRIP_RE.sub(lambda m: " " + "\n" * m.group(0).count("\n"), text)


def expand_use(tree):
    """`crate::{a::X, b::{self, Y as Z}}` -> [(['crate','a','X'],'X'), (['crate','b'],'b'), ...].

    The second item is the name the import binds ('*' for a glob)."""
    s = re.sub(r"\s+as\s+(\w+)", r"@\1", tree)
    s = re.sub(r"\s+", "", s)
    out = []

    def walk(i, prefix):
        segs = []
        while i < len(s):
            if s.startswith("{", i):
                i += 1
                while i < len(s):
                    before = i
                    i = walk(i, prefix + segs)
                    if s.startswith(",", i):
                        i += 1
                    if s.startswith("}", i):
                        return i + 1
                    if i == before:
                        return len(s)
                return i
            if s.startswith("*", i):
                out.append((prefix + segs, "*"))
                return i + 1
            if s.startswith("::", i):
                i += 2
                continue
            m = WORD_RE.match(s, i)
            if not m:
                return i
            segs.append(m.group())
            i = m.end()
            if s.startswith("::", i):
                i += 2
                continue
            full = prefix + segs
            if full[-1] == "self":
                full = full[:-1]
            name = full[-1] if full else "self"
            a = ALIAS_RE.match(s, i)
            if a:
                name, i = a.group(1), a.end()
            out.append((full, name))
            return i
        return i

    walk(0, [])
    return out


def rust_sources(crate_dir):
    src = os.path.join(crate_dir, "src")
    for base, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "target")
        for f in sorted(files):
            if f.endswith(".rs"):
                yield os.path.join(base, f)


def module_path(crate_dir, path):
    """src/a/b.rs -> ('a','b'); src/a/mod.rs -> ('a',); src/lib.rs -> ()."""
    rel = os.path.relpath(path, os.path.join(crate_dir, "src"))
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def absolute(segs, logical, modules):
    """A path as written in module `logical` -> a path from the crate root, or None (extern)."""
    if not segs:
        return None
    head, rest = segs[0], list(segs[1:])
    if head == "crate":
        base = []
    elif head == "super":
        base = list(logical[:-1])
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif head == "self":
        base = list(logical)
    elif tuple(logical) + (head,) in modules:
        base, rest = list(logical), list(segs)
    else:
        return None
    return tuple(base + rest)


def read_file(text, me, modules):
    """(occurrences, bindings) of one file whose module path is `me`.

    occurrences: [(node, absolute path)]; bindings: {logical module: {name: absolute path}}."""
    code = strip_code(text)
    depth = 0
    stack = []  # (logical path, depth its body opened at, is test)
    pending_test = False
    occurrences, bindings = [], {}

    def where():
        logical = stack[-1][0] if stack else me
        tests = [s for s in stack if s[2]]
        return logical, (tests[0][0] if tests else me)

    for m in TOKEN_RE.finditer(code):
        if m.group("cfgtest"):
            pending_test = True
        elif m.group("mod"):
            if m.group("modend") == "{":
                logical, _ = where()
                depth += 1
                stack.append((logical + (m.group("modname"),), depth, pending_test))
            pending_test = False
        elif m.group("use"):
            logical, node = where()
            for segs, name in expand_use(m.group("tree")):
                path = absolute(segs, logical, modules)
                if path is None:
                    continue
                occurrences.append((node, path))
                if name not in ("*", "_", "self"):
                    bindings.setdefault(logical, {})[name] = path
            pending_test = False
        elif m.group("path"):
            logical, node = where()
            segs = [m.group("head")] + re.findall(r"\w+", m.group("rest"))
            path = absolute(segs, logical, modules)
            if path is not None:
                occurrences.append((node, path))
        elif m.group("open"):
            depth += 1
            pending_test = False
        elif m.group("close"):
            depth -= 1
            while stack and depth < stack[-1][1]:
                stack.pop()
        elif m.group("semi"):
            pending_test = False
    return occurrences, bindings


def resolve(path, modules, bindings):
    """The module that defines what `path` names, following `use` bindings."""
    for _ in range(12):
        k = len(path)
        while k > 0 and path[:k] not in modules:
            k -= 1
        m = path[:k]
        if k < len(path) and path[k] in bindings.get(m, {}):
            target = bindings[m][path[k]] + path[k + 1:]
            if target == path:
                return m
            path = target
            continue
        return m
    return path


def related(a, b):
    """a is b, or one is an ancestor of the other."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def crate_graph(crate_dir):
    """{module: {modules it depends on}}, ancestors and descendants left out."""
    files = list(rust_sources(crate_dir))
    modules = {module_path(crate_dir, p) for p in files}
    occurrences, bindings = [], {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            occ, b = read_file(f.read(), module_path(crate_dir, path), modules)
        occurrences += occ
        for mod, names in b.items():
            bindings.setdefault(mod, {}).update(names)
    graph = {}
    for node, path in occurrences:
        target = resolve(path, modules, bindings)
        if not related(node, target):
            graph.setdefault(node, set()).add(target)
    return graph


def find_cycles(graph, longest=8):
    """Every elementary cycle of up to `longest` modules, each reported once."""
    seen, cycles = set(), []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    key = frozenset(trail)
                    if key not in seen:
                        seen.add(key)
                        cycles.append(trail)
                elif nxt not in trail and nxt > start and len(trail) < longest:
                    stack.append((nxt, trail + [nxt]))
    return cycles


def crate_cycles(crate_dir):
    return find_cycles(crate_graph(crate_dir))

#!/usr/bin/env python3
"""Writes faultproxy's operation table from botocore's service models.

The proxy needs AWS's own facts about every service (names, protocols, operations, REST routes,
error shapes) without any Python or AWS SDK at run time. This reads them from the botocore pinned
in harness/tests/foreign_clients/requirements.txt and writes two files checked into faultproxy:

  faultproxy/src/aws/table/operations.txt   the table, one record a line (format below)
  faultproxy/src/aws/table/ids.rs           a named `Service` constant per service

Usage:
  python3 scripts/gen-operations.py            # creates target/botocore-venv if needed, writes
  python3 scripts/gen-operations.py --check    # exits 1 when the checked-in files differ

Without botocore importable, the script re-runs itself inside target/botocore-venv, creating it
with `pip install botocore==<pin>` first. `just gen-operations` runs it.

Record format (fields separated by one TAB; `-` is an absent field):
  #  comment (the first names the botocore version)
  S  name endpointPrefix signingName targetPrefix protocols jsonVersion apiVersion
     xmlNamespace queryCompatible(0/1) serviceId throttlingShape otherSigningNames
     (otherSigningNames: those the service's endpoint rules sign with besides its own, such
     as S3's `s3express`, comma-separated)
  O  name flags [method uri [presence]]
                                    flags `d` = deprecated, else `-`; REST services also carry
                                    method, URI and, where two operations share method and
                                    path, the required query (`q:name`) and header (`h:name`)
                                    members, comma-separated
  E  shape code status              code `-` = the shape's name; status is the HTTP status
The O and E records after an S record belong to that service. Services are sorted by name,
operations and errors by name, so a service's index and an operation's index are stable for
one botocore version.
"""
import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(ROOT, "harness", "tests", "foreign_clients", "requirements.txt")
VENV = os.path.join(ROOT, "target", "botocore-venv")
OUT_DIR = os.path.join(ROOT, "faultproxy", "src", "aws", "table")
TABLE = os.path.join(OUT_DIR, "operations.txt")
IDS = os.path.join(OUT_DIR, "ids.rs")

# Error shapes that are a service's throttling answer, in order of preference. Botocore names
# them in each service's model (e.g. lambda's TooManyRequestsException, 429).
THROTTLING_SHAPES = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ThrottledException",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
]


def pinned_botocore():
    with open(REQUIREMENTS) as f:
        for line in f:
            m = re.match(r"^\s*botocore==([\w.]+)", line)
            if m:
                return m.group(1)
    sys.exit(f"gen-operations: no `botocore==` pin in {REQUIREMENTS}")


def ensure_botocore(version):
    """Returns normally when the pinned botocore is importable, else re-runs in the venv."""
    try:
        import botocore

        if botocore.__version__ == version:
            return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit(f"gen-operations: {VENV} does not have botocore=={version}; delete it and retry")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    ok = subprocess.run(
        [python, "-c", f"import botocore,sys; sys.exit(botocore.__version__ != '{version}')"],
        capture_output=True,
    ).returncode == 0
    if not ok:
        subprocess.check_call(
            [python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
             "--quiet", f"botocore=={version}"]
        )
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def field(v):
    if v is None or v == "":
        return "-"
    s = str(v)
    if "\t" in s or "\n" in s:
        sys.exit(f"gen-operations: a field holds a tab or newline: {s!r}")
    return s


def presence(op):
    """Required query and header members of a REST operation's input."""
    shape = op.input_shape
    if shape is None:
        return []
    out = []
    for name in sorted(shape.required_members):
        m = shape.members[name]
        loc = m.serialization.get("location")
        wire = m.serialization.get("name", name)
        if loc == "querystring":
            out.append("q:" + wire)
        elif loc == "header":
            out.append("h:" + wire.lower())
    return out


def error_records(model):
    seen = {}
    for op_name in model.operation_names:
        for shape in model.operation_model(op_name).error_shapes:
            seen[shape.name] = shape
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.metadata.get("exception"):
            seen.setdefault(name, shape)
    out = []
    for name in sorted(seen):
        shape = seen[name]
        err = shape.metadata.get("error", {})
        code = err.get("code", name)
        status = err.get("httpStatusCode")
        if status is None:
            status = 500 if shape.metadata.get("fault") else 400
        out.append((name, code, status))
    return out


def signing_names(value, out):
    """Every `signingName` in an endpoint rule set."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "signingName" and isinstance(v, str):
                out.add(v)
            else:
                signing_names(v, out)
    elif isinstance(value, list):
        for v in value:
            signing_names(v, out)


def service_records(session, name):
    model = session.get_service_model(name)
    md = model.metadata
    signing = md.get("signingName", md.get("endpointPrefix"))
    others = set()
    loader = session.get_component("data_loader")
    signing_names(loader.load_service_model(name, "endpoint-rule-set-1"), others)
    others.discard(signing)
    protocols = md.get("protocols") or [md["protocol"]]
    rest = md["protocol"] in ("rest-json", "rest-xml")
    errors = error_records(model)
    names = {e[0] for e in errors}
    throttling = next((t for t in THROTTLING_SHAPES if t in names), None)
    lines = ["\t".join(map(field, [
        "S", name, md.get("endpointPrefix"), signing,
        md.get("targetPrefix"), ",".join(protocols), md.get("jsonVersion"),
        md.get("apiVersion"), md.get("xmlNamespace"),
        "1" if md.get("awsQueryCompatible") is not None else "0",
        md.get("serviceId"), throttling, ",".join(sorted(others)),
    ]))]
    ops = [model.operation_model(o) for o in sorted(model.operation_names)]
    routes = {}
    if rest:
        for op in ops:
            key = (op.http["method"], op.http["requestUri"].split("?")[0])
            routes[key] = routes.get(key, 0) + 1
    for op in ops:
        flags = "d" if op.deprecated else "-"
        if not rest:
            lines.append(f"O\t{op.name}\t{flags}")
            continue
        method, uri = op.http["method"], op.http["requestUri"]
        rec = ["O", op.name, flags, method, uri]
        if routes[(method, uri.split("?")[0])] > 1:
            rec.append(",".join(presence(op)) or "-")
        lines.append("\t".join(map(field, rec)))
    for shape, code, status in errors:
        lines.append("\t".join(map(field, [
            "E", shape, "-" if code == shape else code, status])))
    return lines


def const_name(service):
    c = re.sub(r"[^A-Za-z0-9]", "_", service).upper()
    return "_" + c if c[0].isdigit() else c


def render(version):
    import botocore.session

    session = botocore.session.get_session()
    names = sorted(session.get_available_services())
    lines = [f"# generated by scripts/gen-operations.py from botocore {version}; do not edit"]
    for name in names:
        lines.extend(service_records(session, name))
    table = "\n".join(lines) + "\n"
    digest = hashlib.sha256(table.encode()).hexdigest()[:16]
    ids = [
        "//! A named [`Service`] per botocore service, generated with operations.txt by",
        "//! `scripts/gen-operations.py` (its index in the table, which sorts services by name).",
        f"//! botocore {version}, table sha256 prefix {digest}. Do not edit.",
        "",
        "use super::Service;",
        "",
        "#[allow(missing_docs)]",
        "impl Service {",
    ]
    for i, name in enumerate(names):
        ids.append(f"    pub const {const_name(name)}: Service = Service({i});")
    ids.append("}")
    return table, "\n".join(ids) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    version = pinned_botocore()
    ensure_botocore(version)
    table, ids = render(version)
    stale = []
    for path, text in ((TABLE, table), (IDS, ids)):
        try:
            with open(path) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            os.makedirs(OUT_DIR, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if check and stale:
        print(f"gen-operations: {', '.join(stale)} differ from botocore {version}; "
              "run `just gen-operations` (python3 scripts/gen-operations.py)", file=sys.stderr)
        sys.exit(1)
    what = "up to date" if not stale else "written: " + ", ".join(stale)
    print(f"gen-operations: botocore {version}, {table.count(chr(10) + 'S')} services, "
          f"{table.count(chr(10) + 'O')} operations; {what}")


if __name__ == "__main__":
    main()

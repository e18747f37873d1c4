#!/usr/bin/env python3
"""Instructions per proxied request, counted by valgrind's callgrind: a figure that, unlike wall
or CPU time, does not move when other work loads the machine.

Each proxy under test (`NAME=COMMAND`; the script appends `--upstream URL --listen ADDR`, so any
build of `faultproxy` or the older `harness proxy` fits) and nginx (`--nginx`, one worker, as a
plain reverse proxy) run under callgrind in front of the same trivial upstream (nginx answering
an empty ECS ListClusters result). The load is the bench's request (an SDK-shaped ECS
ListClusters call, bench/src/http_load.rs) on keep-alive connections. Every target runs twice,
with N1 and N2 requests; (instructions(N2) - instructions(N1)) / (N2 - N1) is the cost of one
request without start-up and shutdown.

    python3 scripts/proxy_instructions.py \
        after="target/bench-fast/faultproxy --flavor moto" --nginx --conns 1 --n1 500 --n2 2500
"""

import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

ACCOUNT = "210987654321"
REGION = "ap-northeast-1"
UPSTREAM_BODY = '{"clusterArns":[]}'


def request_bytes(host):
    """The bench's ListClusters request (bench/src/http_load.rs `aws_headers`)."""
    body = b"{}"
    auth = (
        f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/{REGION}/ecs/aws4_request, "
        "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
        "x-amz-date;x-amz-target;x-amz-user-agent, Signature=" + "0" * 64
    )
    head = (
        "POST / HTTP/1.1\r\n"
        f"host: {host}\r\n"
        "content-type: application/x-amz-json-1.1\r\n"
        "x-amz-target: AmazonEC2ContainerServiceV20141113.ListClusters\r\n"
        "x-amz-date: 20260101T000000Z\r\n"
        f"authorization: {auth}\r\n"
        "user-agent: aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0\r\n"
        "x-amz-user-agent: aws-sdk-rust/1.3.9 ua/2.1 api/ecs/1.0.0 os/linux lang/rust/1.95.0 m/E\r\n"
        "amz-sdk-invocation-id: 0d6a1f8e-2b7c-4f5e-8a9d-3c4b5a6e7f80\r\n"
        "amz-sdk-request: attempt=1; max=3\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, deadline_s=120):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"proxy_instructions: {what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"proxy_instructions: {what} did not listen on port {port} within {deadline_s} s")


def read_response(sock, buf):
    """Reads one response with a Content-Length body; returns (status, rest of the buffer)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before a response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if not m:
        raise ConnectionError("response without Content-Length: " + head.decode(errors="replace"))
    need = int(m.group(1))
    while len(rest) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        rest += chunk
    return status, rest[need:]


def load(port, total, conns):
    """`total` requests over `conns` keep-alive connections; every answer must be 200."""
    req = request_bytes(f"127.0.0.1:{port}")
    errors = []

    def worker(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = b""
            for _ in range(n):
                s.sendall(req)
                status, buf = read_response(s, buf)
                if status != 200:
                    errors.append(f"status {status}")
                    return
            s.close()
        except OSError as e:
            errors.append(str(e))

    share = [total // conns + (1 if i < total % conns else 0) for i in range(conns)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"proxy_instructions: load failed: {errors[0]}")


def nginx_conf(d, listen, upstream_port=None):
    """nginx, one worker in the foreground: the upstream (answers itself) or a reverse proxy."""
    if upstream_port is None:
        server_body = (
            "location / { default_type application/x-amz-json-1.1; "
            f"return 200 '{UPSTREAM_BODY}'; }}"
        )
        upstream = ""
    else:
        upstream = (
            f"upstream backend {{ server 127.0.0.1:{upstream_port}; keepalive 128; "
            "keepalive_requests 100000000; }"
        )
        server_body = (
            "location / { proxy_pass http://backend; proxy_http_version 1.1; "
            'proxy_set_header Connection ""; proxy_set_header Host $http_host; }'
        )
    return f"""daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {d}/cb; proxy_temp_path {d}/px;
 fastcgi_temp_path {d}/fc; uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
 {upstream}
 server {{ listen 127.0.0.1:{listen}; keepalive_requests 100000000; keepalive_timeout 300s;
  {server_body} }} }}
"""


def start_nginx(nginx, d, listen, upstream_port=None, wrap=()):
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, listen, upstream_port))
    return subprocess.Popen(
        [*wrap, nginx, "-c", conf, "-p", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def callgrind_total(out_file):
    """The `totals:` (or `summary:`) instruction count of a callgrind output file."""
    with open(out_file) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    sys.exit(f"proxy_instructions: no totals in {out_file}")


def run_once(name, argv_for, n, conns, work):
    """Starts the target under callgrind, sends n requests, stops it; returns instructions."""
    port = free_port()
    out = os.path.join(work, f"{name}-{n}.callgrind")
    wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--quiet"]
    proc = argv_for(port, wrap)
    try:
        wait_port(port, proc, name)
        load(port, 20, 1)  # first connections, pools, allocator: in both runs alike
        load(port, n, conns)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return callgrind_total(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("proxies", nargs="*", metavar="NAME=COMMAND")
    ap.add_argument("--nginx", action="store_true", help="measure nginx as a reverse proxy too")
    ap.add_argument("--n1", type=int, default=500)
    ap.add_argument("--n2", type=int, default=2500)
    ap.add_argument("--conns", type=int, default=1, help="keep-alive connections of the load")
    args = ap.parse_args()
    if args.n2 <= args.n1:
        sys.exit("proxy_instructions: --n2 must be larger than --n1")
    nginx = subprocess.run(["sh", "-c", "command -v nginx || ls /usr/sbin/nginx"],
                           capture_output=True, text=True).stdout.strip()
    if not nginx:
        sys.exit("proxy_instructions: nginx not found (apt-get install nginx): it is the upstream")

    work = tempfile.mkdtemp(prefix="proxy-instructions-")
    up_port = free_port()
    upstream = start_nginx(nginx, os.path.join(work, "upstream"), up_port)
    targets = []
    for spec in args.proxies:
        name, sep, cmd = spec.partition("=")
        if not sep or not cmd:
            sys.exit(f"proxy_instructions: {spec!r}: expected NAME=COMMAND")
        argv = shlex.split(cmd)

        def argv_for(port, wrap, argv=argv):
            full = [*wrap, *argv, "--upstream", f"http://127.0.0.1:{up_port}",
                    "--listen", f"127.0.0.1:{port}"]
            env = dict(os.environ, RUST_LOG="warn")
            return subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=env)
        targets.append((name, argv_for))
    if args.nginx:
        def nginx_for(port, wrap):
            return start_nginx(nginx, os.path.join(work, f"nginx-{port}"), port, up_port, wrap)
        targets.append(("nginx", nginx_for))
    try:
        wait_port(up_port, upstream, "the upstream nginx")
        for name, argv_for in targets:
            a = run_once(name, argv_for, args.n1, args.conns, work)
            b = run_once(name, argv_for, args.n2, args.conns, work)
            per = (b - a) / (args.n2 - args.n1)
            print(f"{name}: {per:,.0f} instructions/request "
                  f"({args.conns} connection(s); {a:,} at {args.n1}, {b:,} at {args.n2})",
                  flush=True)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()

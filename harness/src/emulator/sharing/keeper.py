# Why this file exists: the moto server shared by the test processes of one run must outlive
# whichever test process started it, yet never outlive the run. This small keeper (started by
# the first test process, in a session of its own, see keeper.rs) owns the moto process and
# stops it once no lease holder is alive: a lease is a file <scope>/leases/<pid>-<start> written
# by each attached test process and for the run itself (the `cargo test` / nextest process).
# The start time (field 22 of /proc/<pid>/stat) guards against pid reuse; a zombie is dead.
#
# moto gets PR_SET_PDEATHSIG(SIGKILL): if the keeper itself is killed, moto dies with it, and
# the next test process finds a dead keeper in the state file and starts a new one.
#
# The server may be several moto processes (shards, one keeper each, all named in state.json).
# They share one fate: the keeper that stops (no lease left, or its moto died) stops the other
# shards' keepers too, so no shard outlives the server it belonged to.
#
# usage: python3 keeper.py SCOPE_DIR POLL_MS PID_FILE_NAME MOTO_PROGRAM [MOTO_ARGS...]
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1

# Inherited descriptors (cargo's jobserver pipe, ...) must not be held open for the whole run.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))

scope = sys.argv[1]
poll = int(sys.argv[2]) / 1000.0
pid_name = sys.argv[3]
command = sys.argv[4:]
leases = os.path.join(scope, "leases")
state_path = os.path.join(scope, "state.json")
libc = ctypes.CDLL(None, use_errno=True)


def arm_child():
    os.setpgid(0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def alive(pid, start):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and fields[19] == str(start)


def live_leases():
    live = 0
    for name in os.listdir(leases):
        try:
            pid, start = name.split("-", 1)
            ok = alive(int(pid), int(start))
        except ValueError:
            ok = False
        if ok:
            live += 1
        else:
            try:
                os.unlink(os.path.join(leases, name))
            except OSError:
                pass
    return live


def keepers_in_state():
    """(pid, start) of every shard's keeper the state file names; [] without one."""
    try:
        with open(state_path) as f:
            state = json.load(f)
        shards = [state] + list(state.get("more_shards", []))
        return [(int(s["keeper_pid"]), int(s["keeper_start"])) for s in shards]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def forget_state():
    # Only the state file that names this keeper is ours to remove, with the other shards.
    keepers = keepers_in_state()
    if not any(pid == os.getpid() for pid, _ in keepers):
        return
    for pid, start in keepers:
        if pid != os.getpid() and alive(pid, start):
            print("keeper %d: stopping shard keeper %d" % (os.getpid(), pid), flush=True)
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    os.unlink(state_path)


def stop_moto():
    try:
        os.killpg(moto.pid, signal.SIGKILL)
    except OSError:
        pass
    moto.wait()


def on_term(signum, frame):
    print("keeper %d: stopped by signal %d (the server stops: a run ended or a shard died)"
          % (os.getpid(), signum), flush=True)
    stop_moto()
    sys.exit(0)


moto = subprocess.Popen(command, preexec_fn=arm_child, stdin=subprocess.DEVNULL)
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
tmp = os.path.join(scope, pid_name + ".tmp")
with open(tmp, "w") as f:
    f.write(str(moto.pid))
os.replace(tmp, os.path.join(scope, pid_name))
print("keeper %d: moto pid %d: %s" % (os.getpid(), moto.pid, " ".join(command)), flush=True)

lock = open(os.path.join(scope, "lock"), "a")
while True:
    time.sleep(poll)
    code = moto.poll()
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if code is not None:
            print("keeper %d: moto exited with %s" % (os.getpid(), code), flush=True)
            forget_state()
            sys.exit(3)
        if live_leases() == 0:
            print("keeper %d: no lease holder left; stopping moto" % os.getpid(), flush=True)
            stop_moto()
            forget_state()
            sys.exit(0)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)

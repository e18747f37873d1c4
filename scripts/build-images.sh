#!/usr/bin/env bash
# Builds the container images the container tests and docker-compose.local.yml use, WITHOUT
# pulling anything: our machines reach Debian's packages, PyPI and crates.io but no container
# registry, and the Docker engine starts empty. See images/README.md.
#
#   scripts/build-images.sh [moto] [proxy] [harness] [localstack] [all]     (default: moto proxy)
#
# Images (tags overridable):
#   harness-moto:5.2.5          Debian bookworm rootfs (debootstrap) + venv with moto[server]==5.2.5
#   harness-proxy:local         harness-moto + the `faultproxy` binary built here
#   harness-all-in-one:local    harness-moto + the `harness` binary built here: the root
#                               Dockerfile's image (entrypoint `harness up --listen 0.0.0.0:4566`)
#   harness-localstack:4.13.1   Debian bookworm rootfs + localstack-core 4.13.1 (community, no token)
#
# Idempotent: an image whose tag exists is not rebuilt (the proxy image is rebuilt only when the
# harness binary changed). Root filesystems are cached under $HARNESS_IMAGE_CACHE
# (default target/image-cache), so a rebuild after `docker rmi` takes seconds, not minutes.
# HARNESS_IMAGES_REBUILD=1 rebuilds the images from the cached root filesystems.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOTO_VERSION=${HARNESS_MOTO_VERSION:-5.2.5}
MOTO_TAG=${HARNESS_MOTO_LOCAL_TAG:-harness-moto:${MOTO_VERSION}}
PROXY_TAG=${HARNESS_PROXY_LOCAL_TAG:-harness-proxy:local}
ALL_IN_ONE_TAG=${HARNESS_ALL_IN_ONE_LOCAL_TAG:-harness-all-in-one:local}
LOCALSTACK_VERSION=${HARNESS_LOCALSTACK_VERSION:-4.13.1}
LOCALSTACK_TAG=${HARNESS_LOCALSTACK_LOCAL_TAG:-harness-localstack:${LOCALSTACK_VERSION}}
SUITE=bookworm
CACHE=${HARNESS_IMAGE_CACHE:-${ROOT}/target/image-cache}
PROXY_PROFILE=${HARNESS_PROXY_PROFILE:-dev}   # dev shares the test build's artifacts; release is smaller
# HARNESS_PROXY_BINARY=/path/to/faultproxy (HARNESS_HARNESS_BINARY=/path/to/harness) uses that
# binary instead of building one.
REBUILD=${HARNESS_IMAGES_REBUILD:-0}

say() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
elapsed() { echo "$(($(now) - $1))s"; }

# ---------------------------------------------------------------------------------------------
# Preconditions
# ---------------------------------------------------------------------------------------------
require_docker() {
  command -v docker >/dev/null 2>&1 ||
    die "docker CLI not found. Install Docker Engine (Debian: apt-get install docker.io) and start it."
  docker info >/dev/null 2>&1 ||
    die "cannot reach the Docker engine ('docker info' failed). Start dockerd or check DOCKER_HOST / permissions on /var/run/docker.sock."
}

require_root() {
  [ "$(id -u)" = 0 ] ||
    die "building a root filesystem (debootstrap, chroot) needs root. Re-run as root (sudo $0)."
}

require_debootstrap() {
  if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "debootstrap is missing: installing it with 'apt-get install -y debootstrap' (Debian's package)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null; } ||
        die "could not install debootstrap with apt-get"
    else
      die "debootstrap not found. Install it (Debian/Ubuntu: sudo apt-get install debootstrap) and re-run as root."
    fi
  fi
  export PATH="$PATH:/usr/sbin:/sbin"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror apt already uses on this machine (deb822 or one-line format), else deb.debian.org.
debian_mirror() {
  if [ -n "${HARNESS_DEBIAN_MIRROR:-}" ]; then echo "$HARNESS_DEBIAN_MIRROR"; return; fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -r "$f" ] || continue
    uri=$(awk '
      /^[[:space:]]*#/ { next }
      /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }
      /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) { print $i; exit } }
    ' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  echo "http://deb.debian.org/debian"
}

# ---------------------------------------------------------------------------------------------
# Root filesystems
# ---------------------------------------------------------------------------------------------
BASE_DIR="$CACHE/${SUITE}-python3"

# Debian bookworm minbase + python3, python3-venv, ca-certificates. Cached: built once.
build_base_rootfs() {
  if [ -f "$BASE_DIR/.harness-complete" ]; then
    say "base rootfs: cached at $BASE_DIR"
    return
  fi
  require_root
  require_debootstrap
  local mirror t0 tmp
  mirror=$(debian_mirror)
  t0=$(now)
  tmp="$BASE_DIR.tmp"
  rm -rf "$tmp"
  mkdir -p "$CACHE"
  say "base rootfs: debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates $SUITE $tmp $mirror (about 1 min)"
  if ! debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* 2>/dev/null || true
  touch "$tmp/.harness-complete"
  mv "$tmp" "$BASE_DIR"
  say "base rootfs: done in $(elapsed "$t0") ($(du -sh "$BASE_DIR" | cut -f1))"
}

# Runs a shell script inside a copy of the base rootfs with the network and the host's CA bundle,
# e.g. for pip. Arguments: rootfs dir, script.
chroot_run() {
  local dir=$1 script=$2 rc=0 mounted=0
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/tmp/host-ca.crt"
  if mount -t proc proc "$dir/proc" 2>/dev/null; then mounted=1; fi
  chroot "$dir" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/tmp/host-ca.crt SSL_CERT_FILE=/tmp/host-ca.crt REQUESTS_CA_BUNDLE=/tmp/host-ca.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180 PIP_PROGRESS_BAR=off \
    /bin/sh -euc "$script" || rc=$?
  if [ "$mounted" = 1 ]; then umount "$dir/proc" || umount -l "$dir/proc" || true; fi
  rm -f "$dir/tmp/host-ca.crt"
  : >"$dir/etc/resolv.conf" # docker bind-mounts its own at run time
  return "$rc"
}

# Copies the base rootfs to $1.tmp, runs the install script in it, and moves it to $1 on success.
derive_rootfs() {
  local dir=$1 what=$2 script=$3 log=$4 t0
  if [ -f "$dir/.harness-complete" ]; then
    say "$what rootfs: cached at $dir"
    return
  fi
  require_root
  build_base_rootfs
  t0=$(now)
  rm -rf "$dir.tmp"
  cp -a "$BASE_DIR" "$dir.tmp"
  rm -f "$dir.tmp/.harness-complete"
  say "$what rootfs: installing into a copy of the base rootfs (chroot, pip; log: $log)"
  if ! chroot_run "$dir.tmp" "$script" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$what rootfs: install failed (full log: $log; partial tree left at $dir.tmp)"
  fi
  touch "$dir.tmp/.harness-complete"
  mv "$dir.tmp" "$dir"
  say "$what rootfs: done in $(elapsed "$t0") ($(du -sh "$dir" | cut -f1))"
}

# tar of a rootfs | docker import with the given --change instructions.
import_rootfs() {
  local dir=$1 tag=$2 t0
  shift 2
  t0=$(now)
  say "docker import $tag from $dir"
  tar -C "$dir" --numeric-owner --exclude=./.harness-complete \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./tmp/*' -c . |
    docker import "$@" - "$tag" >/dev/null
  say "docker import $tag: done in $(elapsed "$t0") ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# ---------------------------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------------------------
build_moto() {
  if image_exists "$MOTO_TAG" && [ "$REBUILD" != 1 ]; then
    say "$MOTO_TAG: exists, skipping (HARNESS_IMAGES_REBUILD=1 or 'docker rmi $MOTO_TAG' to rebuild)"
    return
  fi
  local t0 dir
  t0=$(now)
  dir="$CACHE/moto-${MOTO_VERSION}"
  derive_rootfs "$dir" "moto ${MOTO_VERSION}" "
    python3 -m venv /opt/moto
    /opt/moto/bin/pip install 'moto[server]==${MOTO_VERSION}'
    ln -sf /opt/moto/bin/moto_server /usr/local/bin/moto_server
    /opt/moto/bin/python -c 'import moto; print(\"moto\", moto.__version__)'
    # Byte-compile now, so every container does not do it again at start.
    /opt/moto/bin/python -m compileall -q -j 0 /opt/moto/lib >/dev/null || true
  " "$CACHE/moto-${MOTO_VERSION}.log"
  # Same interface as motoserver/moto: ENTRYPOINT moto_server -H 0.0.0.0, port 5000.
  import_rootfs "$dir" "$MOTO_TAG" \
    -c 'ENTRYPOINT ["/opt/moto/bin/moto_server", "-H", "0.0.0.0"]' \
    -c 'CMD ["-p", "5000"]' \
    -c 'EXPOSE 5000' \
    -c 'ENV MOTO_IAM_LOAD_MANAGED_POLICIES=true' \
    -c 'ENV PATH=/opt/moto/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'WORKDIR /'
  say "$MOTO_TAG: built in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# fault proxy: harness-moto (local image: nothing to pull) + the harness binary built here.
# The host is Debian bookworm like the image, so the binary's glibc matches.
# ---------------------------------------------------------------------------------------------
# The binary $1 (a workspace bin of package $1) for an image: $2 if set, else built here.
# Checked against the image's glibc. Prints its path.
host_binary() {
  local name=$1 given=$2 bin needs
  if [ -n "$given" ]; then
    bin=$given
    say "using the $name binary $bin"
  else
    command -v cargo >/dev/null 2>&1 || die "cargo not found: the image contains the $name binary built here (or name one)"
    say "cargo build -p $name --bin $name --profile $PROXY_PROFILE"
    (cd "$ROOT" && cargo build -p "$name" --bin "$name" --profile "$PROXY_PROFILE") >&2 ||
      die "cargo build of the $name binary failed"
    local profdir=$PROXY_PROFILE
    [ "$profdir" = dev ] && profdir=debug
    bin="${CARGO_TARGET_DIR:-$ROOT/target}/$profdir/$name"
  fi
  [ -x "$bin" ] || die "expected the $name binary at $bin"
  # The image is Debian bookworm (glibc 2.36): a binary linked on a newer glibc will not run.
  needs=$(objdump -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)
  if [ -n "$needs" ] && [ "$(printf '%s\nGLIBC_2.36\n' "$needs" | sort -V | tail -1)" != GLIBC_2.36 ]; then
    die "the $name binary needs $needs but the image has glibc 2.36 (Debian bookworm): build it on bookworm or an older glibc"
  fi
  echo "$bin"
}

# docker build of tag $1 FROM harness-moto with binary $2 (as $3 in the context) and the
# Dockerfile $4, plus extra files; skipped when the image holds this binary already.
build_on_moto() {
  local tag=$1 bin=$2 name=$3 dockerfile=$4 t0 sum current ctx f
  shift 4
  image_exists "$MOTO_TAG" || build_moto
  t0=$(now)
  sum=$(sha256sum "$bin" | cut -c1-64)
  current=$(docker image inspect -f '{{ index .Config.Labels "harness.binary.sha256" }}' "$tag" 2>/dev/null || true)
  if [ "$current" = "$sum" ] && [ "$REBUILD" != 1 ]; then
    say "$tag: exists with this $name binary (sha256 ${sum:0:12}), skipping"
    return
  fi
  ctx=$(mktemp -d)
  cp "$bin" "$ctx/$name"
  strip "$ctx/$name" 2>/dev/null || true
  for f in "$@"; do cp "$f" "$ctx/"; done
  cp "$dockerfile" "$ctx/Dockerfile"
  say "docker build $tag (FROM $MOTO_TAG, local; context: the $name binary and $(($# + 1)) file(s))"
  if ! DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --pull=false -q \
    --build-arg "BASE=$MOTO_TAG" --label "harness.binary.sha256=$sum" -t "$tag" "$ctx" >/dev/null; then
    rm -rf "$ctx"
    die "docker build of $tag failed"
  fi
  rm -rf "$ctx"
  say "$tag: built in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# fault proxy: harness-moto (local image: nothing to pull) + the faultproxy binary built here.
# The host is Debian bookworm like the image, so the binary's glibc matches.
# ---------------------------------------------------------------------------------------------
build_proxy() {
  local bin
  bin=$(host_binary faultproxy "${HARNESS_PROXY_BINARY:-}")
  build_on_moto "$PROXY_TAG" "$bin" faultproxy "$ROOT/images/proxy/Dockerfile.local" \
    "$ROOT/images/proxy/entrypoint.sh"
}

# ---------------------------------------------------------------------------------------------
# all-in-one: harness-moto + the harness binary built here (the root Dockerfile's image).
# ---------------------------------------------------------------------------------------------
build_all_in_one() {
  local bin
  bin=$(host_binary harness "${HARNESS_HARNESS_BINARY:-}")
  build_on_moto "$ALL_IN_ONE_TAG" "$bin" harness "$ROOT/images/harness/Dockerfile.local"
}

# ---------------------------------------------------------------------------------------------
# LocalStack community (no auth token): localstack-core on bookworm's Python 3.11, installed with
# that release's requirements-runtime.txt (shipped in its sdist) as constraints.
# ---------------------------------------------------------------------------------------------
build_localstack() {
  if image_exists "$LOCALSTACK_TAG" && [ "$REBUILD" != 1 ]; then
    say "$LOCALSTACK_TAG: exists, skipping (HARNESS_IMAGES_REBUILD=1 or 'docker rmi $LOCALSTACK_TAG' to rebuild)"
    return
  fi
  local t0 dir v=$LOCALSTACK_VERSION
  t0=$(now)
  dir="$CACHE/localstack-${v}"
  derive_rootfs "$dir" "localstack ${v}" "
    python3 -m venv /opt/code/localstack/.venv
    cd /tmp
    /opt/code/localstack/.venv/bin/pip download --no-deps --no-binary :all: -d /tmp/sdist 'localstack-core==${v}'
    /opt/code/localstack/.venv/bin/python - <<'PY'
import glob, tarfile
sdist = glob.glob('/tmp/sdist/localstack_core-*.tar.gz')[0]
with tarfile.open(sdist) as t:
    m = [n for n in t.getnames() if n.endswith('/requirements-runtime.txt')][0]
    open('/tmp/constraints.txt', 'wb').write(t.extractfile(m).read())
print('constraints from', sdist)
PY
    rm -rf /tmp/sdist
    /opt/code/localstack/.venv/bin/pip install -c /tmp/constraints.txt 'localstack-core[runtime]==${v}' service-identity
    mkdir -p /var/lib/localstack /etc/localstack/init/ready.d /tmp/localstack
    /opt/code/localstack/.venv/bin/python -c 'import localstack.runtime.main; print(\"localstack-core import ok\")'
  " "$CACHE/localstack-${v}.log"
  import_rootfs "$dir" "$LOCALSTACK_TAG" \
    -c 'ENTRYPOINT ["/opt/code/localstack/.venv/bin/python", "-m", "localstack.runtime.main"]' \
    -c 'EXPOSE 4566' \
    -c 'ENV GATEWAY_LISTEN=0.0.0.0:4566' \
    -c 'ENV DNS_ADDRESS=0' \
    -c 'ENV LOCALSTACK_HOST=localhost.localstack.cloud:4566' \
    -c 'ENV PATH=/opt/code/localstack/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'WORKDIR /opt/code/localstack'
  say "$LOCALSTACK_TAG: built in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(moto proxy)
for t in "${targets[@]}"; do
  case "$t" in
  moto | proxy | harness | localstack) ;;
  all) targets=(moto proxy harness localstack); break ;;
  -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
  *) die "unknown target '$t' (expected moto, proxy, harness, localstack or all)" ;;
  esac
done

require_docker
T0=$(now)
for t in "${targets[@]}"; do
  case "$t" in
  moto) build_moto ;;
  proxy) build_proxy ;;
  harness) build_all_in_one ;;
  localstack) build_localstack ;;
  esac
done
say "all done in $(elapsed "$T0"): $(for t in "${targets[@]}"; do case $t in moto) printf '%s ' "$MOTO_TAG" ;; proxy) printf '%s ' "$PROXY_TAG" ;; harness) printf '%s ' "$ALL_IN_ONE_TAG" ;; localstack) printf '%s ' "$LOCALSTACK_TAG" ;; esac; done)"

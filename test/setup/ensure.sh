#!/usr/bin/env bash
# Brings up what the tests need, idempotently: each part checks first and only acts when missing,
# so a warm run takes well under two seconds and a fresh Debian machine (as root) is ready in a
# few minutes. When something cannot be provided (no root, no apt-get), it says exactly what is
# missing and how to provide it, then fails.
#
#   Python venv     $MLP_CACHE/venv, packages pinned in test/setup/requirements.txt
#   Airflow venv    $MLP_CACHE/airflow-venv, Airflow 3 + the Amazon provider pinned in
#                   test/setup/airflow-requirements.txt (for `mlp export airflow`'s tests)
#   Docker engine   dockerd on /var/run/docker.sock (vfs storage, host networking only)
#   test image      mlp-test-python:latest: the host's python3 + stdlib + /bin/sh + coreutils,
#                   imported from a root filesystem tarball (no registry is reachable)
#   PostgreSQL      127.0.0.1:54329, role mlp/mlp, database mlp_test
#   tmux            the real terminal the TUI's end-to-end test (test/e2e/tui.test.ts) drives
#
# Where the tests find these: test/helpers/services.ts. Expensive things are cached in
# ${MLP_CACHE:-$HOME/.cache/mlp}; servers are left running for the next run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)

MLP_CACHE=${MLP_CACHE:-${HOME:-/root}/.cache/mlp}
TEST_IMAGE=mlp-test-python:latest
PG_PORT=54329
mkdir -p "$MLP_CACHE"

say() { echo "test setup: $*" >&2; }
missing() { # missing WHAT HOW
  say "$1 is missing: $2"
  exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }

need() { # need CMD HOW
  command -v "$1" >/dev/null 2>&1 || missing "'$1'" "$2"
}

need git "install git (Debian: apt-get install -y git)"
need flock "install util-linux (Debian: apt-get install -y util-linux)"

# Two runs at once (two terminals, parallel CI jobs on one machine) take turns; the second one then
# finds everything up. Daemons started below must not inherit fd 9, or they would hold the lock.
exec 9>"$MLP_CACHE/ensure.lock"
if ! flock -n 9; then
  say "another test setup is running; waiting for it"
  flock -w 900 9 || missing "the setup lock $MLP_CACHE/ensure.lock" "another ensure.sh held it for 15 minutes; stop it"
fi

apt_updated=
apt_install() { # apt_install WHAT PACKAGE...
  local what=$1
  shift
  if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
    missing "$what" "install the Debian package(s) '$*' (as root: apt-get install -y $*), or run this script as root on Debian/Ubuntu"
  fi
  say "installing $* (for $what)"
  # Never let package scripts start services: this script starts them itself, with test settings.
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  local ok=1
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq 9>&- >/dev/null || ok=
    apt_updated=1
  fi
  [ -n "$ok" ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" 9>&- >/dev/null || ok=; }
  [ -n "$made_policy" ] && rm -f "$policy"
  [ -n "$ok" ] || missing "$what" "apt-get install -y $* failed (see its output above); install it by hand and rerun"
}

# ---------------------------------------------------------------------------------------------
# Python venv with the pinned test packages; reinstalled only when requirements.txt changes.

ensure_venv() {
  local venv="$MLP_CACHE/venv" req="$here/requirements.txt" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" = "$want" ] && "$venv/bin/python" -S -c '' 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install "python3" python3 python3-venv
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    missing "Python >= 3.9" "python3 on PATH is $(python3 --version 2>&1); put a newer python3 first on PATH"
  fi
  # A venv whose base interpreter is gone (pyenv version removed, python upgraded) is rebuilt.
  if ! "$venv/bin/python" -S -c '' 2>/dev/null; then
    say "creating the Python venv $venv"
    if ! python3 -m venv --clear "$venv" >/dev/null 2>&1; then
      apt_install "Python's venv module" python3-venv
      python3 -m venv --clear "$venv" >/dev/null
    fi
  fi
  say "installing the pinned Python test packages (test/setup/requirements.txt)"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" 9>&- ||
    missing "the Python test packages" "pip install -r test/setup/requirements.txt failed (see above); is the PyPI registry reachable?"
  echo "$want" >"$venv/.requirements.sha256"
}

# ---------------------------------------------------------------------------------------------
# Airflow in a venv of its own (its pins and moto's differ); reinstalled only when
# airflow-requirements.txt changes. About 160 wheels: a minute on a fresh machine, pip's cache after.

ensure_airflow_venv() {
  local venv="$MLP_CACHE/airflow-venv" req="$here/airflow-requirements.txt" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" = "$want" ] && "$venv/bin/python" -S -c '' 2>/dev/null; then
    return 0
  fi
  if ! "$venv/bin/python" -S -c '' 2>/dev/null; then
    say "creating the Airflow venv $venv"
    python3 -m venv --clear "$venv" >/dev/null
  fi
  say "installing Airflow and the Amazon provider (test/setup/airflow-requirements.txt, ~160 packages)"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off -r "$req" 9>&- |
    grep --line-buffered -E '^(Collecting|Successfully installed)' | sed -u 's/^/test setup:   /' >&2 ||
    true
  "$venv/bin/python" -c 'import airflow.sdk, airflow.providers.amazon' 2>/dev/null ||
    missing "Airflow in $venv" "pip install -r test/setup/airflow-requirements.txt failed (run it by hand to see why); is the PyPI registry reachable?"
  echo "$want" >"$venv/.requirements.sha256"
}

# ---------------------------------------------------------------------------------------------
# Docker engine, started by hand: vfs storage and no iptables/bridge work on any machine,
# including inside a container; containers therefore use host networking.

ensure_docker() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then return 0; fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    apt_install "the Docker engine (dockerd)" docker.io
  fi
  if ! is_root; then
    if [ -S /var/run/docker.sock ]; then
      missing "access to the Docker engine" "$(docker info 2>&1 | tail -1); add yourself to the docker group (sudo usermod -aG docker $USER, then log in again)"
    fi
    missing "a running Docker engine" "start it as root: dockerd --storage-driver=vfs --iptables=false --bridge=none &  (or run this script as root)"
  fi
  local log="$MLP_CACHE/dockerd.log" pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    say "starting dockerd (log: $log)"
    setsid nohup dockerd --storage-driver=vfs --iptables=false --bridge=none </dev/null >>"$log" 2>&1 9>&- &
    pid=$!
  fi
  local deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null || echo 0)" 2>/dev/null; then
      say "dockerd exited; the end of $log:"
      tail -n 20 "$log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "dockerd did not answer within 60 s; the end of $log:"
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# The test image. Nothing can be pulled, so the image is this machine's own python3 with its
# stdlib and the shared libraries it loads, plus /bin/sh and a few coreutils: ~60 MB, built in
# seconds without network (debootstrap would take minutes and give 4x the size, which vfs then
# copies for every container). Debian's /usr/bin/python3 is preferred; else python3 on PATH.

image_python() {
  if [ -x /usr/bin/python3 ]; then
    readlink -f /usr/bin/python3
  else
    python3 -c 'import os, sys; print(os.path.realpath(sys.executable))'
  fi
}

stage_file() { # stage_file STAGE PATH: the host file (dereferenced) at the same path in the image
  local dst="$1$2"
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  cp -L "$2" "$dst"
}

stage_with_libs() { # stage_with_libs STAGE PATH: a binary or shared object and every library it loads
  stage_file "$1" "$2"
  local lib
  for lib in $(ldd "$2" 2>/dev/null | grep -o '/[^ )]*' || true); do
    stage_file "$1" "$lib"
  done
}

build_image_rootfs() { # build_image_rootfs PYTHON TARBALL
  local py=$1 tarball=$2 stage
  stage=$(mktemp -d "$MLP_CACHE/image-stage.XXXXXX")
  # Merged /usr like Debian 12, so a library found as /lib/... and /usr/lib/... is one file.
  mkdir -p "$stage"/usr/{bin,sbin,lib,lib64,local/bin} "$stage"/{etc,root,dev,proc,sys,opt}
  ln -s usr/bin "$stage/bin" && ln -s usr/sbin "$stage/sbin" && ln -s usr/lib "$stage/lib" && ln -s usr/lib64 "$stage/lib64"
  install -d -m 1777 "$stage/tmp"

  local dirs
  dirs=$("$py" -c 'import sysconfig; print(sysconfig.get_path("stdlib")); print(sysconfig.get_path("platstdlib"))' | sort -u)
  local d
  for d in $dirs; do
    tar -C / -cf - --exclude='site-packages/*' --exclude='dist-packages/*' --exclude=test --exclude=tests \
      --exclude=idlelib --exclude=tkinter --exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 \
      --exclude='config-3*' "${d#/}" | tar -C "$stage" -xf -
  done
  stage_with_libs "$stage" "$py"
  local so
  while IFS= read -r so; do stage_with_libs "$stage" "$so"; done < <(find $dirs -name '*.so' -path '*lib-dynload*')
  [ -d "/etc/$(basename "$py")" ] && cp -a "/etc/$(basename "$py")" "$stage/etc/" # Debian's sitecustomize
  for name in python3 python; do
    [ -e "$stage/usr/bin/$name" ] || ln -s "$py" "$stage/usr/bin/$name"
  done

  local tool path
  for tool in sh env cat ls mkdir rm cp mv ln sleep id pwd printenv echo true false touch chmod head tail wc grep sed tr sort uname date basename dirname; do
    path=$(command -v "$tool" 2>/dev/null) && [ -f "$path" ] || continue
    stage_with_libs "$stage" "$(readlink -f "$path")"
    [ -e "$stage/usr/bin/$tool" ] || ln -s "$(readlink -f "$path")" "$stage/usr/bin/$tool"
  done

  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
  tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$stage"
}

ensure_test_image() {
  local py recipe have
  py=$(image_python)
  # The image records the recipe it was built from; changing the recipe or the interpreter rebuilds it.
  recipe=$({ declare -f build_image_rootfs stage_with_libs stage_file; echo "$py"; } | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{index .Config.Labels "mlp.recipe"}}' "$TEST_IMAGE" 2>/dev/null || true)
  [ "$have" = "$recipe" ] && return 0

  local tarball="$MLP_CACHE/images/mlp-test-python-$recipe.tar"
  mkdir -p "$MLP_CACHE/images"
  if [ ! -f "$tarball" ]; then
    say "building the root filesystem of $TEST_IMAGE from $py"
    find "$MLP_CACHE/images" -name 'mlp-test-python-*.tar' -delete
    build_image_rootfs "$py" "$tarball"
  fi
  say "importing $TEST_IMAGE"
  docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV LANG=C.UTF-8' \
    --change "LABEL mlp.recipe=$recipe" --change 'CMD ["python3"]' "$tarball" "$TEST_IMAGE" >/dev/null
  if ! out=$(docker run --rm --network host "$TEST_IMAGE" /bin/sh -c \
    'python3 -c "import json, os, pathlib, http.server, sqlite3, ssl, urllib.request; print(\"ok\")"' 2>&1); then
    docker rmi -f "$TEST_IMAGE" >/dev/null 2>&1 || true
    rm -f "$tarball"
    say "the freshly built $TEST_IMAGE cannot run python3:"
    echo "$out" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL on 127.0.0.1:54329 (beside any system server on 5432). initdb refuses root, so as
# root the cluster belongs to the postgres user and lives in its home, which it can reach (it
# cannot reach into root's $HOME); otherwise it is the caller's, in $MLP_CACHE/pg. The socket is
# inside the data dir, so only the owner can use the trusted local connection.

pg_bin() {
  local p
  if p=$(command -v pg_ctl 2>/dev/null); then dirname "$(readlink -f "$p")"; return 0; fi
  p=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$p" ] && echo "$p"
}

ensure_postgres() {
  [ -n "${MLP_TEST_POSTGRES_URL:-}" ] && return 0 # the tests were pointed at another server
  local bin
  bin=$(pg_bin) || { apt_install "PostgreSQL" postgresql; bin=$(pg_bin) || missing "PostgreSQL" "apt-get install -y postgresql did not provide pg_ctl"; }
  if PGPASSWORD=mlp PGCONNECT_TIMEOUT=3 "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U mlp -d mlp_test -qAtc 'select 1' >/dev/null 2>&1; then
    return 0
  fi

  local data as=()
  if is_root; then
    id postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
    data=${MLP_TEST_PG_DATA:-/var/lib/postgresql/mlp-test}
    as=(runuser -u postgres --)
  else
    data=${MLP_TEST_PG_DATA:-$MLP_CACHE/pg}
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $data"
    mkdir -p "$data"
    is_root && chown postgres:postgres "$data"
    chmod 700 "$data"
    (cd / && "${as[@]}" "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$MLP_CACHE/initdb.log" 2>&1) ||
      { say "initdb failed:"; tail -n 20 "$MLP_CACHE/initdb.log" >&2; exit 1; }
    # Test data is disposable: durability off makes schema setup per test fast.
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$data'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  if ! (cd / && "${as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1); then
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $data/server.log)"
    (cd / && setsid -w "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start </dev/null >/dev/null 9>&-) ||
      { say "PostgreSQL did not start; the end of $data/server.log:"; tail -n 20 "$data/server.log" >&2; exit 1; }
  fi
  (cd / && "${as[@]}" "$bin/psql" -h "$data" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null) <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlp') THEN CREATE ROLE mlp LOGIN CREATEDB PASSWORD 'mlp';
  ELSE ALTER ROLE mlp LOGIN CREATEDB PASSWORD 'mlp';
  END IF;
END $$;
SELECT 'CREATE DATABASE mlp_test OWNER mlp' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlp_test')\gexec
SQL
  PGPASSWORD=mlp "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U mlp -d mlp_test -qAtc 'select 1' >/dev/null ||
    missing "a PostgreSQL login as mlp on 127.0.0.1:$PG_PORT" "is another server on that port? see $data/server.log"
}

# ---------------------------------------------------------------------------------------------
# tmux: the TUI's end-to-end test runs `mlp` in a detached session and reads captured panes.

ensure_tmux() {
  command -v tmux >/dev/null 2>&1 || apt_install "tmux (the terminal the TUI's end-to-end test drives)" tmux
}

ensure_venv
ensure_airflow_venv
ensure_tmux
ensure_docker
ensure_test_image
ensure_postgres
say "ready ($(($(date +%s) - started)) s)"

#!/usr/bin/env bash
# Brings up what the tests need, idempotently: each part checks first and only acts when missing.
# Later parts (Python venv, moto, dockerd, PostgreSQL) add themselves here. When something cannot be
# provided (no root, no apt), say exactly what is missing and how to provide it, then fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

need() { # need CMD HOW
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "test setup: '$1' is missing: $2" >&2
  exit 1
}

need git "install git (Debian: apt-get install -y git)"
echo "test setup: ready"

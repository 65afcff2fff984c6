#!/usr/bin/env bash
# README command (b): install the test dependencies into .venv, start PostgreSQL/PostGIS, find Chromium,
# run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# shellcheck source=scripts/services.sh
. scripts/services.sh
exec .venv/bin/python -m pytest -q -n auto "$@"

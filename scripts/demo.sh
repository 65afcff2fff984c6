#!/usr/bin/env bash
# README command (a): install gridmap into .venv, load the Chengyang demo into the embedded store and
# serve it at http://127.0.0.1:5000 (GRIDMAP_DATABASE_URL chooses another store; GRIDMAP_PORT another port).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/gridmap demo "$@"

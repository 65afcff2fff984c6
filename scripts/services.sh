#!/usr/bin/env bash
# Source me: install (as root on Debian, when missing) and start what the full test suite needs —
# PostgreSQL 15 + PostGIS, Debian Chromium, GDAL's ogr2ogr — then export GRIDMAP_TEST_POSTGRES_URL.
# Elsewhere it says what is missing; those tests then skip with the reason (and fail under CI=true).
_gm_need=()
command -v pg_ctlcluster >/dev/null 2>&1 && [ -e /usr/share/postgresql/15/extension/postgis.control ] || _gm_need+=(postgresql postgresql-15-postgis-3)
[ -x /usr/bin/chromium ] || _gm_need+=(chromium)
command -v ogr2ogr >/dev/null 2>&1 || _gm_need+=(gdal-bin)
if [ ${#_gm_need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing ${_gm_need[*]} with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${_gm_need[@]}") >/dev/null \
      || echo "services: apt-get install failed: ${_gm_need[*]}" >&2
  else
    echo "services: missing ${_gm_need[*]} (not root on Debian: install them yourself)" >&2
  fi
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  pg_lsclusters -h 2>/dev/null | grep -q '^15 *main' || pg_createcluster 15 main >/dev/null
  pg_ctlcluster 15 main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg_isready -q -p 5432 && break; sleep 1; done
  su postgres -c "psql -q -p 5432 -tc \"SELECT 1 FROM pg_roles WHERE rolname='gridmap'\" | grep -q 1 || \
     psql -q -p 5432 -c \"CREATE ROLE gridmap LOGIN SUPERUSER PASSWORD 'gridmap'\"" >/dev/null \
    && export GRIDMAP_TEST_POSTGRES_URL="postgresql+psycopg://gridmap:gridmap@127.0.0.1:5432/postgres"
elif [ -z "${GRIDMAP_TEST_POSTGRES_URL:-}" ]; then
  echo "services: PostgreSQL not started (needs root on Debian, or set GRIDMAP_TEST_POSTGRES_URL)" >&2
fi
[ -x /usr/bin/chromium ] && export GRIDMAP_TEST_CHROMIUM=/usr/bin/chromium
unset _gm_need

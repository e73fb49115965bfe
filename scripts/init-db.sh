#!/usr/bin/env bash
# Creates Konstruct's roles and database. Idempotent: safe to run again, and concurrently from test files.
#   konstruct_owner  owns the database and its tables, runs migrations
#   konstruct_app    what the services connect as: LOGIN, NOSUPERUSER, NOBYPASSRLS, not the owner
# docker-compose's Postgres runs it at first start (as /docker-entrypoint-initdb.d/); tests run it too.
#
# Environment (all optional):
#   KONSTRUCT_DB              database to create                 (default: konstruct)
#   KONSTRUCT_OWNER_PASSWORD  password for konstruct_owner       (default: none; trust/peer auth)
#   KONSTRUCT_APP_PASSWORD    password for konstruct_app         (default: none)
#   PGHOST PGPORT PGUSER      how to reach Postgres as a superuser (psql's own variables)
set -euo pipefail

db="${KONSTRUCT_DB:-konstruct}"
if [[ ! "$db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
  echo "init-db: KONSTRUCT_DB must be a plain lowercase identifier, got '$db'" >&2
  exit 2
fi
super_db="${POSTGRES_DB:-postgres}"
psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q -X)

"${psql[@]}" -d "$super_db" \
<<'SQL'
-- CREATE ROLE has no IF NOT EXISTS; a concurrent creator raises unique_violation, which we ignore.
DO $$
BEGIN
  BEGIN
    CREATE ROLE konstruct_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  BEGIN
    CREATE ROLE konstruct_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
END $$;
-- a role created earlier by hand must still satisfy the contract
ALTER ROLE konstruct_app NOSUPERUSER NOBYPASSRLS;
SQL

if [ -n "${KONSTRUCT_OWNER_PASSWORD:-}" ]; then
  "${psql[@]}" -d "$super_db" -v pw="$KONSTRUCT_OWNER_PASSWORD" -c "ALTER ROLE konstruct_owner PASSWORD :'pw'" >/dev/null
fi
if [ -n "${KONSTRUCT_APP_PASSWORD:-}" ]; then
  "${psql[@]}" -d "$super_db" -v pw="$KONSTRUCT_APP_PASSWORD" -c "ALTER ROLE konstruct_app PASSWORD :'pw'" >/dev/null
fi

if [ "$("${psql[@]}" -d "$super_db" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
  "${psql[@]}" -d "$super_db" -c "CREATE DATABASE \"$db\" OWNER konstruct_owner" 2>/dev/null ||
    "${psql[@]}" -d "$super_db" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1
fi

"${psql[@]}" -d "$db" <<SQL
REVOKE ALL ON DATABASE "$db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "$db" TO konstruct_app;
ALTER SCHEMA public OWNER TO konstruct_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO konstruct_app;
SQL
echo "init-db: roles konstruct_owner, konstruct_app and database $db ready"

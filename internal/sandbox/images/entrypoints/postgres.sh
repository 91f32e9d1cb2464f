#!/bin/bash
# Entrypoint of localhost/styrmin/postgres: the environment contract of the official postgres image
# on Debian's postgresql-15. POSTGRES_PASSWORD (required to initialise), POSTGRES_USER (default
# postgres, the superuser), POSTGRES_DB (default: the user's name), PGDATA (default
# /var/lib/postgresql/data, a volume mount point). With an empty PGDATA the cluster is created
# first; the server then listens on every address of the pod's own network namespace.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "${1:-}" != postgres ]; then
	exec "$@" # any other command runs as given (psql, pg_dump, a shell...)
fi
shift

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
SOCKET_DIR=/var/run/postgresql

log() { echo "postgres-entrypoint: $*" >&2; }

# The server refuses to run as root: drop to the postgres user when started as root.
as_postgres=()
if [ "$(id -u)" = 0 ]; then
	as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
	mkdir -p "$PGDATA" "$SOCKET_DIR"
	# A fresh volume belongs to root; an existing cluster keeps its owner unless it is wrong.
	if [ "$(stat -c %U "$PGDATA")" != postgres ]; then
		chown -R postgres:postgres "$PGDATA"
	fi
	chmod 700 "$PGDATA"
	chown postgres:postgres "$SOCKET_DIR"
	chmod 2775 "$SOCKET_DIR"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		log "error: the database is uninitialized and POSTGRES_PASSWORD is not set"
		exit 1
	fi
	log "initialising $PGDATA for superuser $POSTGRES_USER"
	pwfile="$(mktemp)"
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	[ "$(id -u)" != 0 ] || chown postgres "$pwfile"
	# Local (socket) connections are trusted, as in the official image; every TCP connection
	# needs the password.
	"${as_postgres[@]}" initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
	rm -f "$pwfile"
	printf '\n# styrmin: password login from any address of the pod network\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

	if [ "$POSTGRES_DB" != postgres ]; then
		# A temporary server on the socket only, so nothing can connect before setup ends.
		"${as_postgres[@]}" pg_ctl -D "$PGDATA" -w -s \
			-o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start
		printf 'CREATE DATABASE :"db";\n' | "${as_postgres[@]}" psql -X -q -v ON_ERROR_STOP=1 \
			-h "$SOCKET_DIR" -U "$POSTGRES_USER" -d postgres -v db="$POSTGRES_DB"
		"${as_postgres[@]}" pg_ctl -D "$PGDATA" -m fast -w -s stop
	fi
	log "initialisation done"
fi

exec "${as_postgres[@]}" postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 \
	-c unix_socket_directories="$SOCKET_DIR" "$@"

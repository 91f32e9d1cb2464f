#!/bin/bash
# Entrypoint of localhost/styrmin/mariadb: the environment contract of the official mariadb image
# on Debian's mariadb-server 10.11. MARIADB_ROOT_PASSWORD (required to initialise), optional
# MARIADB_DATABASE, MARIADB_USER and MARIADB_PASSWORD. The data directory /var/lib/mysql is a
# volume mount point; when it is empty it is initialised first. The server then listens on every
# address of the pod's own network namespace.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi
if [ "${1:-}" != mariadbd ] && [ "${1:-}" != mysqld ]; then
	exec "$@" # any other command runs as given (mariadb, mariadb-dump, a shell...)
fi
shift

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
# --user drops root privileges inside the server; skip-name-resolve because a pod has no reverse
# DNS, so accounts are matched by address ('%') only.
server=(mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --skip-name-resolve)

log() { echo "mariadb-entrypoint: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$DATADIR" /run/mysqld
	if [ "$(stat -c %U "$DATADIR")" != mysql ]; then
		chown -R mysql:mysql "$DATADIR"
	fi
	chown mysql:mysql /run/mysqld
fi

# SQL string and identifier literals for values taken from the environment.
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"; }
sql_ident() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

if [ ! -d "$DATADIR/mysql" ]; then
	if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
		log "error: the database is uninitialized and MARIADB_ROOT_PASSWORD is not set"
		exit 1
	fi
	if [ -n "${MARIADB_USER:-}" ] && [ -z "${MARIADB_PASSWORD:-}" ]; then
		log "error: MARIADB_USER is set but MARIADB_PASSWORD is not"
		exit 1
	fi
	log "initialising $DATADIR"
	# --rpm skips the check that the hostname resolves, which fails without an /etc/hosts (the
	# runtime may not provide one) and is irrelevant with skip-name-resolve.
	mariadb-install-db --rpm --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve --skip-log-bin >/dev/null

	# A temporary server without networking, so nothing can connect before setup ends.
	"${server[@]}" --skip-networking --skip-log-bin &
	pid=$!
	for _ in $(seq 120); do
		if mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "error: the temporary server exited"
			exit 1
		fi
		sleep 0.5
	done

	rootpw="$(sql_string "$MARIADB_ROOT_PASSWORD")"
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		# Only root@localhost (the socket) and root@'%' (the network) remain, both with the password.
		echo "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');"
		echo "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '%');"
		echo "FLUSH PRIVILEGES;"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $rootpw;"
		echo "CREATE USER 'root'@'%' IDENTIFIED BY $rootpw;"
		echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
		echo "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;"
		echo "DROP DATABASE IF EXISTS test;"
		if [ -n "${MARIADB_DATABASE:-}" ]; then
			echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE");"
		fi
		if [ -n "${MARIADB_USER:-}" ]; then
			echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
			if [ -n "${MARIADB_DATABASE:-}" ]; then
				echo "GRANT ALL ON $(sql_ident "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';"
			fi
		fi
	} | mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode

	kill "$pid"
	wait "$pid" || true
	log "initialisation done"
fi

exec "${server[@]}" --bind-address=0.0.0.0 --port=3306 "$@"

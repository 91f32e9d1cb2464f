package strategy

// The mariadb scripts follow the official MariaDB and MySQL images'
// environment contract and use mysqldump, mysql and mysqladmin where the
// mariadb-* tools are absent (MySQL images). They connect over the local
// socket; MYSQL_PWD carries the password.

const mariadbCredentials = `
{{- define "mariadb-credentials" -}}
styrmin_password=$(first_env MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD) || exit 1
if [ -n "$styrmin_password" ]; then
	styrmin_user=root
else
	styrmin_user=$(first_env MARIADB_USER) || exit 1
	if [ -n "$styrmin_user" ]; then
		styrmin_password=$(first_env MARIADB_PASSWORD) || exit 1
	else
		styrmin_user=$(first_env MYSQL_USER) || exit 1
		styrmin_password=$(first_env MYSQL_PASSWORD) || exit 1
	fi
	if [ -z "$styrmin_user" ]; then
		styrmin_user=root
		note "none of MARIADB_ROOT_PASSWORD, MYSQL_ROOT_PASSWORD, MARIADB_USER, MYSQL_USER is set: connecting as root without a password"
	fi
fi
if [ -n "$styrmin_password" ]; then
	MYSQL_PWD=$styrmin_password
	export MYSQL_PWD
fi
unset styrmin_password
{{end}}`

const mariadbDump = mariadbCredentials + `
{{- template "prelude" .}}
{{- template "dump-begin" .}}
{{- template "mariadb-credentials" .}}
{{- if .Databases}}
set -- --databases{{range .Databases}} {{q .}}{{end}}
{{- else}}
styrmin_database=$(first_env MARIADB_DATABASE MYSQL_DATABASE) || exit 1
if [ -n "$styrmin_database" ]; then
	set -- --databases "$styrmin_database"
elif [ "$styrmin_user" = root ]; then
	set -- --all-databases
else
	fail "neither MARIADB_DATABASE nor MYSQL_DATABASE is set, and dumping all databases needs root: set MARIADB_ROOT_PASSWORD in the container, or list backup.databases"
fi
{{- end}}
if command -v mariadb-dump >/dev/null 2>&1; then styrmin_dump=mariadb-dump; else styrmin_dump=mysqldump; fi
note "dumping $* with $styrmin_dump"
"$styrmin_dump" --user="$styrmin_user" --single-transaction --quick --routines --triggers --events --hex-blob --result-file='mariadb.sql.tmp' "$@"
tail -n 1 'mariadb.sql.tmp' | grep -q '^-- Dump completed' ||
	fail "the dump does not end with $styrmin_dump's \"-- Dump completed\" line: it is incomplete (or an option file sets skip-comments)"
{{template "dump-end" .}}`

const mariadbRestore = mariadbCredentials + `
{{- template "prelude" .}}
{{- template "mariadb-credentials" .}}
if command -v mariadb >/dev/null 2>&1; then
	styrmin_client=mariadb
	styrmin_admin=mariadb-admin
else
	styrmin_client=mysql
	styrmin_admin=mysqladmin
fi
{{template "restore-begin" .}}
# The image's first start runs a temporary server without networking, then
# restarts it: wait for the real one, on TCP. ping succeeds even when the
# login is refused; the restore itself reports that.
wait_ready mariadb "$styrmin_admin" --protocol=tcp --host=127.0.0.1 --user="$styrmin_user" ping
note "restoring mariadb.sql"
"$styrmin_client" --binary-mode --user="$styrmin_user" <'mariadb.sql'
note "restore complete"
`

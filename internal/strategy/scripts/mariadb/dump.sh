{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{if .Databases -}}
set -- --databases{{range .Databases}} {{q .}}{{end}}
{{else -}}
styrmin_database=$(first_env MARIADB_DATABASE MYSQL_DATABASE) || exit 1
if [ -n "$styrmin_database" ]; then
	set -- --databases "$styrmin_database"
elif [ "$styrmin_user" = root ]; then
	set -- --all-databases
else
	fail "neither MARIADB_DATABASE nor MYSQL_DATABASE is set, and dumping all databases needs root: set MARIADB_ROOT_PASSWORD in the container, or list backup.databases"
fi
{{end -}}
if command -v mariadb-dump >/dev/null 2>&1; then styrmin_dump=mariadb-dump; else styrmin_dump=mysqldump; fi
note "dumping $* with $styrmin_dump"
"$styrmin_dump" --user="$styrmin_user" --single-transaction --quick --routines --triggers --events --hex-blob --result-file='mariadb.sql.tmp' "$@"
tail -n 1 'mariadb.sql.tmp' | grep -q '^-- Dump completed' ||
	fail "the dump does not end with $styrmin_dump's \"-- Dump completed\" line: it is incomplete (or an option file sets skip-comments)"
{{template "dump-end.sh" . -}}

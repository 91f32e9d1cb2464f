package strategy

// The postgres scripts follow the official image's environment contract.
// They connect over the local socket unless PGHOST says otherwise, and never
// prompt for a password (-w): a prompt in a hook would only wait for the
// timeout.

const postgresCredentials = `
{{- define "postgres-credentials" -}}
styrmin_user=$(first_env PGUSER POSTGRES_USER) || exit 1
[ -n "$styrmin_user" ] || styrmin_user=postgres
styrmin_password=$(first_env PGPASSWORD POSTGRES_PASSWORD) || exit 1
if [ -n "$styrmin_password" ]; then
	PGPASSWORD=$styrmin_password
	export PGPASSWORD
fi
unset styrmin_password
{{- if .DefaultDatabase}}
styrmin_database=$(first_env PGDATABASE POSTGRES_DB) || exit 1
[ -n "$styrmin_database" ] || styrmin_database=$styrmin_user
{{- end}}
{{end}}`

const postgresDump = postgresCredentials + `
{{- template "prelude" .}}
{{- template "dump-begin" .}}
{{- template "postgres-credentials" .}}
{{- range .Dumps}}
styrmin_db={{.DB}}
note "dumping database $styrmin_db to {{.Name}}"
pg_dump -Fc -Z 6 -w --username="$styrmin_user" -f {{q .Tmp}} "$styrmin_db"
pg_restore --list {{q .Tmp}} >/dev/null || fail "pg_restore cannot read the archive pg_dump wrote for database $styrmin_db"
{{- end}}
# Roles (without their passwords) and tablespaces, for disaster recovery: a
# restore does not need them (--no-owner --no-privileges).
pg_dumpall --globals-only --no-role-passwords -w --username="$styrmin_user" --database="$styrmin_db" -f 'postgres-globals.sql.tmp'
{{template "dump-end" .}}`

const postgresRestore = postgresCredentials + `
{{- template "prelude" .}}
{{- template "postgres-credentials" .}}
{{- template "restore-begin" .}}
# The image's first start runs a temporary server on the socket only, then
# restarts it: wait for the real one, on TCP, unless PGHOST names the server.
styrmin_ready_host=${PGHOST:-127.0.0.1}
wait_ready postgres pg_isready -q --host="$styrmin_ready_host" --username="$styrmin_user"
{{- range .Dumps}}
styrmin_db={{.DB}}
# A clone starts from an empty data directory: create a database the image did not.
styrmin_exists=$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'styrmin_db';" |
	psql -X -q -t -A -w -v ON_ERROR_STOP=1 -v styrmin_db="$styrmin_db" --username="$styrmin_user" --dbname=postgres) ||
	fail "cannot look up database $styrmin_db"
if [ "$styrmin_exists" != 1 ]; then
	note "creating database $styrmin_db"
	createdb -w --username="$styrmin_user" "$styrmin_db"
fi
note "restoring {{.Name}} into database $styrmin_db"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error -w --username="$styrmin_user" --dbname="$styrmin_db" {{q .Name}}
{{- end}}
note "restore complete"
`

{{template "prelude.sh" . -}}
{{template "credentials.sh" . -}}
{{template "restore-begin.sh" . -}}
# The image's first start runs a temporary server on the socket only, then
# restarts it: wait for the real one, on TCP, unless PGHOST names the server.
styrmin_ready_host=${PGHOST:-127.0.0.1}
wait_ready postgres pg_isready -q --host="$styrmin_ready_host" --username="$styrmin_user"
{{range .Dumps -}}
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
{{end -}}
note "restore complete"

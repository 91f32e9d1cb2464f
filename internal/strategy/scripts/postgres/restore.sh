{{template "prelude.sh" . -}}
{{template "credentials.sh" . -}}
{{template "restore-begin.sh" . -}}
# The image's first start runs a temporary server on the socket only, then
# restarts it: wait for the real one, on TCP, unless PGHOST names the server.
styrmin_ready_host=${PGHOST:-127.0.0.1}
wait_ready postgres pg_isready -q --host="$styrmin_ready_host" --username="$styrmin_user"
# Roles first: they belong to the whole server, so a clone starts without the application's own.
# Every role the dump recorded is created when missing and given its attributes (password hashes
# included, when the dump could read them) and memberships, except the restore user's own: the
# owners and grants of the dumps below then replay as they were.
note "replaying roles from postgres-globals.sql"
# shellcheck disable=SC2016 # $styrmin$ is SQL dollar quoting, not a shell expansion
awk -v user="$styrmin_user" '
	BEGIN { quoted = user; gsub(/"/, "\"\"", quoted); quoted = "\"" quoted "\"" }
	/^CREATE ROLE / {
		print "DO $styrmin$ BEGIN " substr($0, 1, length($0) - 1) "; EXCEPTION WHEN duplicate_object THEN NULL; END $styrmin$;"
		next
	}
	/^ALTER ROLE / {
		if (index($0, "ALTER ROLE " user " ") == 1 || index($0, "ALTER ROLE " quoted " ") == 1) next
		print
		next
	}
	/^GRANT / { print }
' postgres-globals.sql |
	psql -X -q -w -v ON_ERROR_STOP=1 --username="$styrmin_user" --dbname=postgres >/dev/null ||
	fail "cannot replay the roles of postgres-globals.sql"
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
# One transaction: a replay that fails halfway leaves the database as it was before it.
pg_restore --single-transaction --clean --if-exists --exit-on-error -w --username="$styrmin_user" --dbname="$styrmin_db" {{q .Name}}
{{end -}}
note "restore complete"

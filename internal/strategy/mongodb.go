package strategy

// The mongodb scripts follow the official image's environment contract and
// connect to localhost:27017. mongodump and mongorestore (100.3.0 and later)
// read the password from a YAML file given with --config, created private in
// the container's temporary directory and removed on exit.

const mongodbCredentials = `
{{- define "mongodb-credentials" -}}
styrmin_user=$(first_env MONGO_INITDB_ROOT_USERNAME) || exit 1
styrmin_password=$(first_env MONGO_INITDB_ROOT_PASSWORD) || exit 1
set --
if [ -n "$styrmin_user" ]; then
	styrmin_config=$(mktemp)
	styrmin_quoted=$(printf '%s' "$styrmin_password" | sed "s/'/''/g")
	printf "password: '%s'\n" "$styrmin_quoted" >"$styrmin_config"
	set -- --config="$styrmin_config" --username="$styrmin_user" --authenticationDatabase=admin
fi
unset styrmin_password styrmin_quoted
{{end}}`

const mongodbCleanup = `
{{- define "extra-cleanup"}}
	[ -z "${styrmin_config:-}" ] || rm -f -- "$styrmin_config"
{{- end}}`

const mongodbDump = mongodbCredentials + mongodbCleanup + `
{{- template "prelude" .}}
{{- template "dump-begin" .}}
{{- template "mongodb-credentials" .}}
{{- range .Dumps}}
{{- if .Database}}
styrmin_db={{q .Database}}
note "dumping database $styrmin_db to {{.Name}}"
mongodump "$@" --archive={{q .Tmp}} --gzip --db="$styrmin_db"
{{- else}}
note "dumping all databases to {{.Name}}"
mongodump "$@" --archive={{q .Tmp}} --gzip
{{- end}}
[ -s {{q .Tmp}} ] || fail "mongodump wrote an empty archive"
{{- end}}
{{template "dump-end" .}}`

const mongodbRestore = mongodbCredentials + mongodbCleanup + `
{{- template "prelude" .}}
{{- template "restore-begin" .}}
{{- template "mongodb-credentials" .}}
if command -v mongosh >/dev/null 2>&1; then styrmin_shell=mongosh; else styrmin_shell=mongo; fi
wait_ready mongodb "$styrmin_shell" --quiet --eval 'db.adminCommand({ ping: 1 })'
{{- range .Dumps}}
note "restoring {{.Name}}"
mongorestore "$@" --archive={{q .Name}} --gzip --drop
{{- end}}
note "restore complete"
`

{{template "prelude.sh" . -}}
{{template "restore-begin.sh" . -}}
{{template "credentials.sh" . -}}
if command -v mongosh >/dev/null 2>&1; then styrmin_shell=mongosh; else styrmin_shell=mongo; fi
wait_ready mongodb "$styrmin_shell" --quiet --eval 'db.adminCommand({ ping: 1 })'
{{range .Dumps -}}
note "restoring {{.Name}}"
mongorestore "$@" --archive={{q .Name}} --gzip --drop
{{end -}}
note "restore complete"

{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{range .Dumps -}}
{{if .Database -}}
styrmin_db={{q .Database}}
note "dumping database $styrmin_db to {{.Name}}"
mongodump "$@" --archive={{q .Tmp}} --gzip --db="$styrmin_db"
{{else -}}
note "dumping all databases to {{.Name}}"
mongodump "$@" --archive={{q .Tmp}} --gzip
{{end -}}
[ -s {{q .Tmp}} ] || fail "mongodump wrote an empty archive"
{{end -}}
{{template "dump-end.sh" . -}}

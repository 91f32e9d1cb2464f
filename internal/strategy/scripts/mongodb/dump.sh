{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{template "server.sh" . -}}
mongo_wait up
styrmin_oplog=no
if [ -n "$styrmin_set" ]; then
{{- if .Databases}}
	note "the server is a member of replica set $styrmin_set, but mongodump takes --oplog only for a dump of every database: each listed database is dumped without it, so the dumps are not a point-in-time snapshot"
{{- else}}
	styrmin_oplog=yes
	note "the server is a member of replica set $styrmin_set: dumping with --oplog, a point-in-time snapshot"
{{- end}}
fi
{{range .Dumps -}}
{{if .Database -}}
styrmin_db={{q .Database}}
note "dumping database $styrmin_db to {{.Name}}"
mongodump "$@" --archive={{q .Tmp}} --gzip --db="$styrmin_db"
{{else -}}
note "dumping all databases to {{.Name}}"
if [ "$styrmin_oplog" = yes ]; then
	mongodump "$@" --archive={{q .Tmp}} --gzip --oplog
else
	mongodump "$@" --archive={{q .Tmp}} --gzip
fi
{{end -}}
[ -s {{q .Tmp}} ] || fail "mongodump wrote an empty archive"
{{end -}}
printf 'oplog=%s\nreplica_set=%s\n' "$styrmin_oplog" "$styrmin_set" >{{q .InfoTmp}}
{{template "dump-end.sh" . -}}

{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "default-database.sh" . -}}
{{template "cypher.sh" . -}}
{{template "edition.sh" . -}}
{{template "admin.sh" . -}}
# stop_database NAME stops database NAME. Until start_database has started it
# again, cleanup (on any exit) starts it.
stop_database() {
	note "stopping database $1 to dump it: it is unavailable until the dump is done"
	styrmin_stopped=$1
	cypher "STOP DATABASE $(cypher_name "$1") WAIT;" >&2 || fail "cypher-shell could not stop database $1 (see above)"
}
# start_database NAME starts database NAME.
start_database() {
	cypher "START DATABASE $(cypher_name "$1") WAIT;" >&2 || return 1
	styrmin_stopped=
	note "database $1 is started again"
}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{range .Dumps -}}
styrmin_db={{.DB}}
{{if .Online -}}
note "backing database $styrmin_db up online to {{.Name}}: it cannot be stopped"
admin_backup "$styrmin_db" {{q .Tmp}}
{{else -}}
stop_database "$styrmin_db"
note "dumping database $styrmin_db to {{.Name}}"
admin_dump "$styrmin_db" {{q .Tmp}}
start_database "$styrmin_db" || fail "database $styrmin_db was dumped but did not start again: start it with START DATABASE"
{{end -}}
{{end -}}
{
	printf 'version=%s\n' "$styrmin_version"
	printf 'edition=%s\n' "$styrmin_edition"
{{- if .DefaultDatabase}}
	printf 'default_database=%s\n' "$styrmin_database"
{{- end}}
} >{{q .InfoTmp}}
{{template "dump-end.sh" . -}}

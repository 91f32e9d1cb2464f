package strategy

// The neo4j scripts use neo4j-admin 5.x. They need the database offline (see
// the package documentation) and never stop or start it, so they do not wait
// for the server either. neo4j-admin writes and reads <database>.dump in a
// directory; the scripts stage that directory inside the dump directory.

const neo4jDefaultDatabase = `
{{- define "neo4j-default-database" -}}
{{- if .DefaultDatabase}}
styrmin_database=$(first_env NEO4J_initial_dbms_default__database NEO4J_dbms_default__database) || exit 1
[ -n "$styrmin_database" ] || styrmin_database=neo4j
{{- end}}
{{end}}`

const neo4jCleanup = `
{{- define "extra-cleanup"}}
	rm -rf -- "$styrmin_dir/neo4j.staging"
{{- end}}`

const neo4jDump = neo4jDefaultDatabase + neo4jCleanup + `
{{- template "prelude" .}}
{{- template "dump-begin" .}}
{{- template "neo4j-default-database" .}}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{- range .Dumps}}
styrmin_db={{.DB}}
note "dumping database $styrmin_db to {{.Name}}"
neo4j-admin database dump "$styrmin_db" --to-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true
[ -s "neo4j.staging/$styrmin_db.dump" ] || fail "neo4j-admin left no neo4j.staging/$styrmin_db.dump"
mv -f -- "neo4j.staging/$styrmin_db.dump" {{q .Tmp}}
{{- end}}
{{template "dump-end" .}}`

const neo4jRestore = neo4jDefaultDatabase + neo4jCleanup + `
{{- template "prelude" .}}
{{- template "neo4j-default-database" .}}
{{- template "restore-begin" .}}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{- range .LoadOrder}}
styrmin_db={{.DB}}
note "loading {{.Name}} into database $styrmin_db"
ln -f -- {{q .Name}} "neo4j.staging/$styrmin_db.dump" 2>/dev/null || cp -f -- {{q .Name}} "neo4j.staging/$styrmin_db.dump"
neo4j-admin database load "$styrmin_db" --from-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true
rm -f -- "neo4j.staging/$styrmin_db.dump"
{{- end}}
note "restore complete"
`

{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "default-database.sh" . -}}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{range .Dumps -}}
styrmin_db={{.DB}}
note "dumping database $styrmin_db to {{.Name}}"
neo4j-admin database dump "$styrmin_db" --to-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true
[ -s "neo4j.staging/$styrmin_db.dump" ] || fail "neo4j-admin left no neo4j.staging/$styrmin_db.dump"
mv -f -- "neo4j.staging/$styrmin_db.dump" {{q .Tmp}}
{{end -}}
{{template "dump-end.sh" . -}}

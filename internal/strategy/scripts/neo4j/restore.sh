{{template "prelude.sh" . -}}
{{template "default-database.sh" . -}}
{{template "restore-begin.sh" . -}}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{range .LoadOrder -}}
styrmin_db={{.DB}}
note "loading {{.Name}} into database $styrmin_db"
ln -f -- {{q .Name}} "neo4j.staging/$styrmin_db.dump" 2>/dev/null || cp -f -- {{q .Name}} "neo4j.staging/$styrmin_db.dump"
neo4j-admin database load "$styrmin_db" --from-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true
rm -f -- "neo4j.staging/$styrmin_db.dump"
{{end -}}
note "restore complete"

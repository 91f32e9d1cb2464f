{{- /* The load, which runs in the restore's init container (see
RestoreInitContainer), before the server starts. */ -}}
{{template "prelude.sh" . -}}
# Kubernetes runs init containers again when it recreates the pod's sandbox
# (a node reboot): loading again would replace what the server has written
# since.
if [ "$(cat -- "$styrmin_dir"/{{q .Loaded}} 2>/dev/null)" = {{q .Backup}} ]; then
	note "backup {{.Backup}} was loaded into this pod before: not loading it again over what the server has written since"
	exit 0
fi
{{template "restore-begin.sh" . -}}
{{template "admin.sh" . -}}
styrmin_dumped=$(sed -n 's/^version=//p' {{q .Info}})
case $styrmin_dumped in
4.*) styrmin_dumped_family=4 ;;
*) styrmin_dumped_family=5 ;;
esac
[ "$styrmin_dumped_family" = "$styrmin_family" ] || fail "the dump was made by Neo4j $styrmin_dumped and this image runs Neo4j $styrmin_version: neo4j-admin loads only what its own major version wrote; refusing to restore"
{{if .DefaultDatabase -}}
styrmin_database=$(sed -n 's/^default_database=//p' {{q .Info}})
[ -n "$styrmin_database" ] || fail "{{.Info}} names no default database; refusing to restore"
{{end -}}
rm -rf -- neo4j.staging
mkdir -- neo4j.staging
{{range .LoadOrder -}}
styrmin_db={{.DB}}
{{if .Online -}}
note "restoring the online backup {{.Name}} into database $styrmin_db"
admin_restore "$styrmin_db" {{q .Name}}
{{else -}}
note "loading {{.Name}} into database $styrmin_db"
admin_load "$styrmin_db" {{q .Name}}
{{end -}}
{{end -}}
printf '%s\n' {{q .Backup}} >{{q (print .Loaded ".tmp")}}
sync
mv -f -- {{q (print .Loaded ".tmp")}} {{q .Loaded}}
sync
note "restore complete: the server starts on the loaded databases"

{{- /* The post-restore exec hook of neo4j, in the server's container:
Velero neither waits for init containers nor reports their failure, so this
fails the restore unless the init container loaded the backup. */ -}}
{{template "prelude.sh" . -}}
styrmin_loaded=$(cat -- "$styrmin_dir"/{{q .Loaded}} 2>/dev/null) || styrmin_loaded=
[ "$styrmin_loaded" = {{q .Backup}} ] || fail "the init container {{.InitContainer}} did not load backup {{.Backup}} into this pod ($styrmin_dir/{{.Loaded}} names '${styrmin_loaded:-nothing}'): see its log, kubectl logs <pod> -c {{.InitContainer}}"
note "the init container {{.InitContainer}} loaded backup {{.Backup}} before the server started"

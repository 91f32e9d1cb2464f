{{template "prelude.sh" . -}}
{{template "restore-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{template "server.sh" . -}}
# The archive holds the oplog when the dump took it, which the info file
# (vouched for by the marker) records, whatever the server here is.
if grep -qx 'oplog=yes' {{q .Info}}; then
	styrmin_replay=yes
	note "the dump holds the oplog of replica set $(sed -n 's/^replica_set=//p' {{q .Info}}): replaying it"
else
	styrmin_replay=no
fi
mongo_wait writable
{{range .Dumps -}}
note "restoring {{.Name}}"
if [ "$styrmin_replay" = yes ]; then
	mongorestore "$@" --archive={{q .Name}} --gzip --drop --oplogReplay
else
	mongorestore "$@" --archive={{q .Name}} --gzip --drop
fi
{{end -}}
note "restore complete"

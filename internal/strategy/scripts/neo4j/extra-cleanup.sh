{{if .Dumping}}	if [ -n "${styrmin_stopped:-}" ]; then
		note "starting database $styrmin_stopped again"
		start_database "$styrmin_stopped" || note "error: database $styrmin_stopped did not start again: start it with START DATABASE"
	fi
{{else}}	rm -f -- "$styrmin_dir"/{{q (print .Loaded ".tmp")}}
{{end}}	rm -rf -- "$styrmin_dir/neo4j.staging"
{{- /* Lines of cleanup.sh's cleanup function, the last one before this
comment so that its trim marker cannot eat an indent: starts a database the
dump stopped (the dump defines start_database), removes the restore's
half-written loaded file and neo4j-admin's staging directory. */}}

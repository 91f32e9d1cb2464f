{{- /* The dump resolves the default database from the server's
environment, as the server does; the info file records it for the load,
whose init container has none of that environment. */ -}}
{{if .DefaultDatabase -}}
styrmin_database=$(first_env NEO4J_initial_dbms_default__database NEO4J_dbms_default__database) || exit 1
[ -n "$styrmin_database" ] || styrmin_database=neo4j
{{end -}}

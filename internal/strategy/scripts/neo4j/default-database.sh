{{- /* The neo4j scripts use neo4j-admin 5.x. They need the database offline
(see the package documentation) and never stop or start it, so they do not
wait for the server either. neo4j-admin writes and reads <database>.dump in
a directory; the scripts stage that directory inside the dump directory
(extra-cleanup.sh removes it). */ -}}
{{if .DefaultDatabase -}}
styrmin_database=$(first_env NEO4J_initial_dbms_default__database NEO4J_dbms_default__database) || exit 1
[ -n "$styrmin_database" ] || styrmin_database=neo4j
{{end -}}

{{- /* The postgres scripts follow the official image's environment contract.
They connect over the local socket unless PGHOST says otherwise, and never
prompt for a password (-w): a prompt in a hook would only wait for the
timeout. */ -}}
styrmin_user=$(first_env PGUSER POSTGRES_USER) || exit 1
[ -n "$styrmin_user" ] || styrmin_user=postgres
styrmin_password=$(first_env PGPASSWORD POSTGRES_PASSWORD) || exit 1
if [ -n "$styrmin_password" ]; then
	PGPASSWORD=$styrmin_password
	export PGPASSWORD
fi
unset styrmin_password
{{if .DefaultDatabase -}}
styrmin_database=$(first_env PGDATABASE POSTGRES_DB) || exit 1
[ -n "$styrmin_database" ] || styrmin_database=$styrmin_user
{{end -}}

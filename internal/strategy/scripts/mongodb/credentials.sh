{{- /* The mongodb scripts follow the official image's environment contract
and connect to localhost:27017. mongodump and mongorestore (100.3.0 and
later) read the password from a YAML file given with --config, created
private in the container's temporary directory and removed on exit
(extra-cleanup.sh). */ -}}
styrmin_user=$(first_env MONGO_INITDB_ROOT_USERNAME) || exit 1
styrmin_password=$(first_env MONGO_INITDB_ROOT_PASSWORD) || exit 1
set --
if [ -n "$styrmin_user" ]; then
	styrmin_config=$(mktemp)
	styrmin_quoted=$(printf '%s' "$styrmin_password" | sed "s/'/''/g")
	printf "password: '%s'\n" "$styrmin_quoted" >"$styrmin_config"
	set -- --config="$styrmin_config" --username="$styrmin_user" --authenticationDatabase=admin
fi
unset styrmin_password styrmin_quoted

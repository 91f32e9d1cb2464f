{{- /* The mongodb scripts follow the official image's environment contract
and connect to localhost:27017. Everything that holds the password goes to
a private directory in the container's temporary directory, removed on exit
(extra-cleanup.sh): mongodump and mongorestore (100.3.0 and later) read it
from the YAML file given with --config; mongosh and mongo take no password
file, so probe.js, the script they run (server.sh), holds it as a string
literal. */ -}}
styrmin_user=$(first_env MONGO_INITDB_ROOT_USERNAME) || exit 1
styrmin_password=$(first_env MONGO_INITDB_ROOT_PASSWORD) || exit 1
styrmin_private=$(mktemp -d)
set --
if [ -n "$styrmin_user" ]; then
	styrmin_config=$styrmin_private/tools.yaml
	styrmin_quoted=$(printf '%s' "$styrmin_password" | sed "s/'/''/g")
	printf "password: '%s'\n" "$styrmin_quoted" >"$styrmin_config"
	set -- --config="$styrmin_config" --username="$styrmin_user" --authenticationDatabase=admin
fi
# js_string VALUE prints VALUE as a JavaScript string literal.
js_string() {
	case $1 in
	*"
"* | *"$(printf '\r')"*) fail "MONGO_INITDB_ROOT_USERNAME or MONGO_INITDB_ROOT_PASSWORD holds a line break, which cannot be handed to mongosh" ;;
	esac
	printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"
}
styrmin_js_user=$(js_string "$styrmin_user") || exit 1
styrmin_js_password=$(js_string "$styrmin_password") || exit 1
{
	printf 'var styrminUser = %s;\n' "$styrmin_js_user"
	printf 'var styrminPassword = %s;\n' "$styrmin_js_password"
	cat <<'STYRMIN_PROBE'
{{template "probe.js" .}}
STYRMIN_PROBE
} >"$styrmin_private/probe.js"
unset styrmin_password styrmin_quoted styrmin_js_password

{{- /* The start of every dump and restore script: strict mode, the dump
directory, and the helpers that report and read credentials. */ -}}
set -eu
# shellcheck disable=SC3040 # pipefail is set only where the probe in a subshell shows the shell has it
if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi
umask 077
styrmin_dir={{q .Dir}}
note() { printf 'styrmin %s: %s\n' {{q .Component}} "$*" >&2; }
fail() { note "error: $*"; exit 1; }
# env_value NAME prints $NAME or, when NAME is not set, the content of the
# file that NAME_FILE names.
env_value() {
	eval "styrmin_value=\${$1:-}"
	if [ -n "$styrmin_value" ]; then
		printf '%s' "$styrmin_value"
		return 0
	fi
	eval "styrmin_file=\${$1_FILE:-}"
	if [ -n "$styrmin_file" ]; then
		[ -r "$styrmin_file" ] || fail "$1_FILE names $styrmin_file, which cannot be read"
		cat -- "$styrmin_file"
	fi
}
# first_env NAME... prints the value of the first NAME that env_value finds.
first_env() {
	for styrmin_name in "$@"; do
		styrmin_value=$(env_value "$styrmin_name") || return 1
		if [ -n "$styrmin_value" ]; then
			printf '%s' "$styrmin_value"
			return 0
		fi
	done
}

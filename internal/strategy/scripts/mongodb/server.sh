{{- /* Waits for the real MongoDB server: the official image's entrypoint
first runs a temporary mongod, without authentication and on 127.0.0.1
alone, for its init scripts, then stops it and starts the real one. A dump
or restore must never talk to the temporary server: probe.js tells them
apart and reports whether the real one is a replica-set member. */ -}}
if command -v mongosh >/dev/null 2>&1; then
	styrmin_shell=mongosh
elif command -v mongo >/dev/null 2>&1; then
	styrmin_shell=mongo
else
	fail "the container has neither mongosh nor mongo, which tell the real MongoDB server from the image's temporary one and a replica-set member from a standalone server"
fi
# mongo_wait up|writable runs probe.js every second until the real server
# answers it (writable: and accepts writes, as a standalone server or a
# replica set's primary does), for at most {{.ReadyWait}}s. It sets
# styrmin_set to the server's replica set, empty for a standalone server.
mongo_wait() {
	styrmin_waited=0
	while :; do
		styrmin_answer=$("$styrmin_shell" --quiet --norc "$styrmin_private/probe.js" 2>&1) || :
		styrmin_state=$(printf '%s\n' "$styrmin_answer" | sed -n 's/^styrmin-mongo //p' | tail -n 1)
		case $styrmin_state in
		"real set="*)
			styrmin_set=${styrmin_state#real set=}
			styrmin_set=${styrmin_set% writable=*}
			if [ "$1" != writable ] || [ "${styrmin_state##* writable=}" = true ]; then
				return 0
			fi
			if [ -n "$styrmin_set" ]; then
				styrmin_why="the server is a member of replica set $styrmin_set but not its primary: it does not accept writes"
			else
				styrmin_why="the server does not accept writes (a replica-set member whose set is not initiated?)"
			fi
			;;
		temporary) styrmin_why="only the image entrypoint's temporary server (without authentication, for its init scripts) answered" ;;
		login-failed) styrmin_why="the server refused the login of '${styrmin_user}' (MONGO_INITDB_ROOT_USERNAME)" ;;
		"error "*) styrmin_why="the server answered the probe with an error: ${styrmin_state#error }" ;;
		*) styrmin_why="no server answered $styrmin_shell: $(printf '%s\n' "$styrmin_answer" | sed '/styrminPassword/d' | tail -n 1)" ;;
		esac
		[ "$styrmin_waited" -lt {{.ReadyWait}} ] || fail "the MongoDB server was not ready within {{.ReadyWait}}s: $styrmin_why"
		sleep 1
		styrmin_waited=$((styrmin_waited + 1))
	done
}

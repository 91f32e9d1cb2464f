{{- /* What every restore does before it replays: refuse a dump that is
missing, damaged or taken with other settings, and define wait_ready. */ -}}
{{template "cleanup.sh" . -}}
cd -- "$styrmin_dir" 2>/dev/null || fail "$styrmin_dir does not exist: the backup holds no dump of this component"
[ -f {{q .Marker}} ] || fail "$styrmin_dir/{{.Marker}} is missing: the dump in this backup never completed; refusing to restore it"
sha256sum -c -- {{q .Marker}} >&2 || fail "the files in $styrmin_dir do not match {{.Marker}} (see above): the dump is damaged or incomplete; refusing to restore it"
styrmin_made_for=$(cat -- {{q .Identity}} 2>/dev/null) || styrmin_made_for=
# A Schedule's backups name their runs, not themselves: which run this backup made is
# told by the marker below, which lists the identity file's sha256 as its log recorded it.
case "$styrmin_made_for" in
{{q .Backup}} | {{.ScheduleRuns}}) ;;
*) fail "the dump in $styrmin_dir was made for backup '${styrmin_made_for:-(none)}', not for {{.Backup}}, which is being restored; refusing to restore it" ;;
esac
# The dump must be the one the backup's log recorded for this pod, file by file.
# shellcheck disable=SC3028 # HOSTNAME is the container runtime's (the pod's name), from the environment
styrmin_pod=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}
case "$styrmin_pod" in
{{- range .Recorded}}
{{q .Pod}}) styrmin_recorded={{q .Marker}} ;;
{{- end}}
*) fail "backup {{.Backup}} recorded no dump of pod $styrmin_pod in its log; refusing to restore" ;;
esac
[ "$(cat -- {{q .Marker}})" = "$styrmin_recorded" ] || fail "the dump in $styrmin_dir is not the one backup {{.Backup}} recorded in its log for pod $styrmin_pod (its marker differs); refusing to restore it"
# listed FILE: whether the marker vouches for FILE.
listed() {
	while read -r _ styrmin_name; do
		[ "$styrmin_name" != "$1" ] || return 0
	done <{{q .Marker}}
	return 1
}
{{range .Files -}}
listed {{q .}} || fail "{{.}} is not listed in {{$.Marker}}: the dump was taken with other settings (backup.databases?); refusing to restore"
{{end -}}
# wait_ready WHAT COMMAND...: run COMMAND every second until it succeeds, for at most {{.ReadyWait}}s.
wait_ready() {
	styrmin_what=$1
	shift
	styrmin_waited=0
	until "$@" >/dev/null 2>&1; do
		[ "$styrmin_waited" -lt {{.ReadyWait}} ] || fail "$styrmin_what did not accept connections within {{.ReadyWait}}s"
		sleep 1
		styrmin_waited=$((styrmin_waited + 1))
	done
}

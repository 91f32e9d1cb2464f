{{- /* What every dump does once its files are written: move them into
place, name the backup the dump is for, then write the marker that vouches
for them all, and report the dump on stdout, which Velero writes into the
backup's log. */ -}}
sync
{{range .Files -}}
mv -f -- {{q (print . ".tmp")}} {{q .}}
{{end -}}
{{if .Schedule -}}
# A Schedule names its backup only when it makes it: the dump names this run of
# the schedule instead (UTC time and a random part), which the backup's log records.
styrmin_run=$(od -An -N6 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n') || styrmin_run=
styrmin_made_for={{q .Schedule}}$(date -u +%Y%m%dT%H%M%SZ)-${styrmin_run:-$$}
{{else -}}
styrmin_made_for={{q .Backup}}
{{end -}}
printf '%s\n' "$styrmin_made_for" >{{q .Identity}}
sha256sum --{{range .Files}} {{q .}}{{end}} {{q .Identity}} >{{q .MarkerTmp}}
sync
mv -f -- {{q .MarkerTmp}} {{q .Marker}}
sync
note "dump complete in $styrmin_dir:"
cat -- {{q .Marker}} >&2
# shellcheck disable=SC3028 # HOSTNAME is the container runtime's (the pod's name), from the environment
styrmin_pod=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}
while read -r styrmin_sum styrmin_file; do
	styrmin_bytes=$(wc -c <"$styrmin_file")
	printf '{{.ReportPrefix}} backup=%s component=%s pod=%s file=%s bytes=%s sha256=%s\n' \
		"$styrmin_made_for" {{q .Component}} "$styrmin_pod" "$styrmin_file" "${styrmin_bytes##* }" "$styrmin_sum"
done <{{q .Marker}}

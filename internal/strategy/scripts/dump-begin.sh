{{- /* What every dump does before it dumps: take the dump directory and
remove the old marker. */ -}}
mkdir -p -- "$styrmin_dir"
cd -- "$styrmin_dir"
# Velero does not kill a hook that timed out: never let two dumps write here at once.
if command -v flock >/dev/null 2>&1; then
	exec 9>>.lock
	flock -n 9 || fail "an earlier dump into $styrmin_dir is still running"
fi
{{template "cleanup.sh" . -}}
# The old marker goes first: until the new dump is complete, none claims it is.
rm -f -- {{q .Marker}}

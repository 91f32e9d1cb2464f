{{- /* What every dump does once its files are written: move them into
place, then write the marker that vouches for them. */ -}}
sync
{{range .Files -}}
mv -f -- {{q (print . ".tmp")}} {{q .}}
{{end -}}
sha256sum --{{range .Files}} {{q .}}{{end}} >{{q .MarkerTmp}}
sync
mv -f -- {{q .MarkerTmp}} {{q .Marker}}
sync
note "dump complete in $styrmin_dir:"
cat -- {{q .Marker}} >&2

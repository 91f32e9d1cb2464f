	[ -z "${styrmin_private:-}" ] || rm -rf -- "$styrmin_private"
{{- /* A line of cleanup.sh's cleanup function, last so that the trim
markers of a comment above cannot eat its indent: removes the private
directory that credentials.sh writes the password to. */}}

	rm -rf -- "$styrmin_dir/neo4j.staging"
{{- /* A line of cleanup.sh's cleanup function, last so that the trim
markers of a comment above cannot eat its indent: removes neo4j-admin's
staging directory. */}}

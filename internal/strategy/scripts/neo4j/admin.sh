{{- /* neo4j-admin's commands as the image's version spells them: 4.x
(neo4j-admin dump, load, backup, restore) or 5.x and the calendar versions
after it (neo4j-admin database dump, load, backup, restore). They work in
neo4j.staging, a directory inside the dump directory that extra-cleanup.sh
removes; their output goes to stderr, as stdout holds the report alone. */ -}}
styrmin_admin_version=$(neo4j-admin --version 2>&1) || fail "neo4j-admin --version failed: $styrmin_admin_version"
# The version is the last word that starts like one: "5.26.0", "2025.01.0", "neo4j-admin 4.4.26".
styrmin_version=$(printf '%s\n' "$styrmin_admin_version" | sed -n 's/^\(.*[^0-9.]\)\{0,1\}\([0-9][0-9]*\.[0-9][0-9.]*\).*$/\2/p' | sed -n 1p)
styrmin_major=${styrmin_version%%.*}
case $styrmin_major in
'') fail "neo4j-admin --version printed no version ('$styrmin_admin_version'): is this a Neo4j image?" ;;
4) styrmin_family=4 ;;
*)
	[ "$styrmin_major" -ge 5 ] || fail "Neo4j $styrmin_version is not supported: 4.x, 5.x and later only"
	styrmin_family=5
	;;
esac
# admin_dump DATABASE FILE dumps DATABASE, which must not be running, into FILE.
admin_dump() {
	rm -f -- "neo4j.staging/$1.dump"
	if [ "$styrmin_family" = 4 ]; then
		neo4j-admin dump --database="$1" --to="$styrmin_dir/neo4j.staging/$1.dump" >&2
	else
		neo4j-admin database dump "$1" --to-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true >&2
	fi
	[ -s "neo4j.staging/$1.dump" ] || fail "neo4j-admin left no neo4j.staging/$1.dump"
	mv -f -- "neo4j.staging/$1.dump" "$2"
}
# admin_load DATABASE FILE loads the dump FILE into DATABASE, which must not be running.
admin_load() {
	if [ "$styrmin_family" = 4 ]; then
		neo4j-admin load --from="$styrmin_dir/$2" --database="$1" --force >&2
	else
		rm -f -- "neo4j.staging/$1.dump"
		ln -f -- "$2" "neo4j.staging/$1.dump" 2>/dev/null || cp -f -- "$2" "neo4j.staging/$1.dump"
		neo4j-admin database load "$1" --from-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true >&2
		rm -f -- "neo4j.staging/$1.dump"
	fi
}
# admin_backup DATABASE FILE backs the running DATABASE up into FILE, online,
# from the backup server of the DBMS (Enterprise; localhost:6362 by default).
admin_backup() {
	rm -rf -- neo4j.staging/backup
	mkdir -- neo4j.staging/backup
	if [ "$styrmin_family" = 4 ]; then
		# 4.x writes a directory: FILE is a tar of it.
		neo4j-admin backup --backup-dir="$styrmin_dir/neo4j.staging/backup" --database="$1" >&2
		[ -d "neo4j.staging/backup/$1" ] || fail "neo4j-admin backup left no neo4j.staging/backup/$1"
		tar -cf "$2" -C neo4j.staging/backup "$1"
	else
		# 5.x writes one artifact, <database>-<time>.backup, into an empty directory.
		neo4j-admin database backup "$1" --to-path="$styrmin_dir/neo4j.staging/backup" >&2
		set -- "$1" "$2" neo4j.staging/backup/*.backup
		if [ $# -ne 3 ] || [ ! -s "$3" ]; then
			fail "neo4j-admin backup did not leave exactly one backup artifact in neo4j.staging/backup"
		fi
		mv -f -- "$3" "$2"
	fi
	rm -rf -- neo4j.staging/backup
}
# admin_restore DATABASE FILE restores the online backup FILE into DATABASE,
# which must not be running.
admin_restore() {
	rm -rf -- neo4j.staging/backup
	mkdir -- neo4j.staging/backup
	if [ "$styrmin_family" = 4 ]; then
		tar -xf "$2" -C neo4j.staging/backup
		neo4j-admin restore --from="$styrmin_dir/neo4j.staging/backup/$1" --database="$1" --force >&2
	else
		ln -f -- "$2" "neo4j.staging/backup/$1.backup" 2>/dev/null || cp -f -- "$2" "neo4j.staging/backup/$1.backup"
		neo4j-admin database restore --from-path="$styrmin_dir/neo4j.staging/backup/$1.backup" "$1" --overwrite-destination=true >&2
	fi
	rm -rf -- neo4j.staging/backup
}

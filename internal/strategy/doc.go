// Package strategy turns one component of a driver file, and the live pods it
// selects, into what Velero needs to capture and bring back that component's
// data: the pod volumes to back up, the backup and restore exec hooks, and
// what a successful capture must look like. It knows nothing of Terraform and
// talks to no cluster: the caller lists the pods and creates the Velero
// objects.
//
// # Resolve, the preflight
//
// Resolve checks a component against the Running pods its selector matches
// and returns a Plan, or a *MismatchError naming the component, the pod and
// the driver field at fault (a volume or container that does not exist, with
// the ones that do). Checking before the backup matters because Velero itself
// forgives too much: a volume name that matches nothing is ignored at Info
// level and a pod that is not Running is skipped with a warning, so a backup
// can end Completed with nothing in it.
//
// Resolve also refuses a pod that carries a Velero hook annotation replacing
// a hook the plan runs (pre.hook.backup.velero.io/command or its legacy
// spelling hook.backup.velero.io/command where the plan has a backup hook,
// post.hook.restore.velero.io/command where it has a restore hook; see
// Plan.HasBackupHook and Plan.HasRestoreHook): Velero runs a pod's own hook
// annotations instead of the hooks a Backup or Restore gives it, so the dump
// would silently not run and the backup would capture whatever dump the volume
// already held. The error names the annotation and how to remove it.
//
// A component whose backup is disabled has nothing to do: Resolve returns a
// nil Plan and a nil error, and every Plan method accepts a nil Plan.
//
// # What a Plan holds
//
//   - Volumes: the value of the pod annotation backup.velero.io/backup-volumes
//     (file-system backup is opt-in per volume). disk and action: the named
//     volumes; database kinds: the dump volume alone.
//   - BackupHooks(namespace, backup): database kinds dump into the dump
//     volume in a pre exec hook, for the Backup named backup, and report the
//     dump on stdout; action runs backup_command as given; disk runs nothing.
//   - RestoreHooks(targetNamespace, backup, recorded): database kinds verify
//     that the dump is the one backup made and recorded, then replay it in a
//     post-restore exec hook; action runs restore_command as given.
//   - ExpectedVolumes: one ExpectedVolume per (pod, volume), each of which
//     must have a Completed PodVolumeBackup. That, not the Backup's phase, is
//     the proof of capture. The provider goes further and fails any volume
//     captured empty, because a backup that captured nothing is a failure.
//   - Warnings: pods that are not Running (Velero skips them), and neo4j's
//     need to be offline.
//
// Hooks always set onError Fail and their timeouts explicitly: an unset
// onError behaves like Continue, Velero's default exec timeout is 30s, and a
// restore hook without waitTimeout can wait forever and block every later
// restore. A restore hook runs as soon as its container is running
// (waitForReady false): readiness probes are the pod author's and may depend
// on the very data being restored, so the hook script waits, bounded, for the
// database itself.
//
// # The dump files
//
// Database kinds write into the directory "styrmin" of the dump volume's
// mount path (Plan.DumpDir), e.g. /backup/styrmin:
//
//	postgres   postgres.dump (pg_dump -Fc), or postgres-<db>.dump per listed
//	           database; postgres-globals.sql (roles without passwords,
//	           tablespaces; kept for disaster recovery, not replayed)
//	mariadb    mariadb.sql (mariadb-dump, or mysqldump where it is absent)
//	mongodb    mongodb.archive.gz, or mongodb-<db>.archive.gz per listed
//	           database
//	neo4j      neo4j.dump (the default database) and neo4j-system.dump, or
//	           neo4j-<db>.dump per listed database
//
// next to <kind>.backup, the identity file, which holds the name of the
// Backup the dump was made for, and <kind>.sha256, the "dump complete"
// marker: sha256sum's output for every dump file and then the identity file,
// written last. Each dump script runs under set -eu (and pipefail where the
// shell has it) with umask 077, takes a lock (flock, where the image has it)
// so that a dump Velero gave up on (it does not kill a hook that timed out)
// cannot interleave with the next one, removes the old marker before anything
// else can fail, writes every file as <file>.tmp, checks it where the format
// allows (pg_restore --list, mariadb-dump's completion line), syncs, renames
// it into place, writes the identity file and only then the marker, itself
// through a temporary file; temporary files are removed on any exit. A failed
// dump therefore never leaves a marker.
//
// A restore refuses to replay, before it touches the database, when there is
// no marker; when a checksum does not match; when the identity file does not
// name the Backup being restored (a dump another backup made); when the
// marker is not, to the byte, the one the restored Backup's log recorded for
// this pod (the pod is $HOSTNAME, else /proc/sys/kernel/hostname: its name
// unless the pod template sets a hostname); when that log recorded no dump of
// this pod; or when the marker does not list a file the restore would replay
// (a dump taken with other settings).
//
// The postgres restore creates a database that does not exist yet (a clone's
// fresh data directory has only the image's default database) before
// pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error.
//
// Dumps never go to stdout, which holds the report lines alone (below):
// Velero logs a hook's stdout and stderr.
//
// # The report: what a backup recorded
//
// A dump proves itself through the Backup it was made for, not through the
// live pod. Once its marker is in place, the dump prints one line per marker
// line on stdout:
//
//	styrmin-dump backup=<name> component=<component> pod=<pod> file=<file> bytes=<n> sha256=<sum>
//
// (ReportPrefix, then the file's size and its checksum from the marker; the
// identity file's line comes last, as in the marker). Velero writes a hook's
// stdout into the backup's log, which it uploads to the bucket with the
// backup, so the log of a Backup holds exactly the dumps its own hooks made: a
// dump an earlier backup left in the volume, or a hook that a pod's annotation
// replaced, reports nothing for it. ParseDumpReports reads the report lines out
// of a hook's stdout, whole as the log holds it, and ignores any other or
// malformed line. Plan.RecordedMarker rebuilds, from one pod's reports, the
// marker a complete dump of the plan leaves (it fails when a file is not
// reported); RestoreHooks takes those markers by pod name, and the restore
// script compares the marker in the volume with the one for its pod.
// Plan.DumpFileNames are the reported dump files besides the identity file.
//
// # Credentials
//
// Scripts read credentials from the container's own environment by variable
// name, as the driverspec package documents (with the NAME_FILE variant read
// when NAME is not set or empty, trailing newlines dropped as the official
// images do), and hand passwords to the tools through their
// environment (PGPASSWORD, MYSQL_PWD) or a private config file (mongodump's
// --config), never through argv, which shows in ps and in Velero's logs. The
// generated script text contains variable names only, never a value.
//
// Where driverspec's rules find no MariaDB credentials, the script connects as
// root without a password, which the official images' socket authentication
// accepts for the container's root user; otherwise the tool reports the
// failed login.
//
// # Readiness on restore
//
// The official postgres and mariadb images initialise an empty data
// directory with a temporary server that listens on the socket only, then
// restart it. A restore into that temporary server would be cut off, so the
// postgres and mariadb restore scripts wait for the server on TCP at
// 127.0.0.1 (PGHOST, when set, instead) and then restore over the socket.
//
// # Neo4j
//
// neo4j-admin database dump and load (5.x) need the database offline in
// Community edition, and a load always does. The hooks never stop or start a
// database: they assume a setup that has the database offline when they run,
// or Enterprise with the database stopped by other means. Plan.Warnings says
// so for every neo4j plan. neo4j-admin runs as the container's exec user; a
// load run as root leaves store files the server's user may not be able to
// open.
//
// # MongoDB
//
// mongodump runs without --oplog: the hook cannot tell whether the member is
// part of a replica set, where --oplog would make a full dump a consistent
// point in time.
package strategy

// Package strategy turns one component of a driver file, and the live pods it
// selects, into what Velero needs to capture and bring back that component's
// data: the pod volumes to back up, the backup and restore hooks, and
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
// Plan.HasBackupHook and Plan.HasRestoreHook), or, for neo4j, whose restore
// runs in an init container, init.hook.restore.velero.io/container-image:
// Velero runs a pod's own hook annotations instead of the hooks a Backup or
// Restore gives it, so the dump would silently not run and the backup would
// capture whatever dump the volume already held (or the restore would not
// load it). The error names the annotation and how to remove it.
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
//     post-restore exec hook, except neo4j, which loads it in an init
//     container (RestoreInitContainer; see Neo4j below) and checks the load
//     in a post-restore exec hook; action runs restore_command as given.
//     CheckRestore says why a plan's restore hooks cannot work (a neo4j plan
//     that does not know the server's image).
//   - ExpectedVolumes: one ExpectedVolume per (pod, volume), each of which
//     must have a Completed PodVolumeBackup. That, not the Backup's phase, is
//     the proof of capture. The provider goes further and fails any volume
//     captured empty, because a backup that captured nothing is a failure.
//   - Warnings: pods that are not Running (Velero skips them); for neo4j,
//     the downtime of its dump and, for an image not named like an
//     Enterprise one, that Community edition cannot be dumped; for mongodb
//     with listed databases, that such dumps carry no oplog.
//
// Hooks always set onError Fail and their timeouts explicitly: an unset
// onError behaves like Continue, Velero's default exec timeout is 30s, and a
// restore hook without waitTimeout can wait forever and block every later
// restore. A restore hook runs as soon as its container is running
// (waitForReady false): readiness probes are the pod author's and may depend
// on the very data being restored, so the hook script waits, bounded, for the
// database itself. Velero neither bounds nor waits for an init container
// (neo4j's load): the exec hook that checks the load bounds the wait.
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
//	           database; mongodb.info (oplog=yes|no, replica_set=<name>)
//	neo4j      neo4j.dump (the default database) and neo4j-system.backup
//	           (an online backup: system cannot be stopped), or
//	           neo4j-<db>.dump per listed database (neo4j-system.backup for
//	           system); neo4j.info (version=, edition=, default_database=)
//
// next to <kind>.backup, the identity file, which holds the name of the
// Backup the dump was made for, and <kind>.sha256, the "dump complete"
// marker: sha256sum's output for every dump file (the info files included)
// and then the identity file, written last. Each dump script runs under set -eu (and pipefail where the
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
// The postgres restore first replays the roles of postgres-globals.sql (each
// created when missing, then its attributes, password hash when the dump could
// read it, settings and memberships; never the restore user's own; no
// tablespaces), creates a database that does not exist yet (a clone's fresh
// data directory has only the image's default database), then runs
// pg_restore --single-transaction --clean --if-exists --exit-on-error: owners
// and grants replay as they were, and a replay that fails halfway leaves the
// database as it was.
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
// environment (PGPASSWORD, MYSQL_PWD, cypher-shell's NEO4J_USERNAME and
// NEO4J_PASSWORD) or a private file (mongodump's and mongorestore's
// --config; the script mongosh runs, which holds the login as JavaScript
// strings, since mongosh takes no password file), never through argv, which
// shows in ps and in Velero's logs. The private files are created in a
// directory of their own (mktemp -d, mode 0700, files 0600) and removed on
// any exit. The generated script text contains variable names only, never a
// value.
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
// The official mongo image's temporary server listens on TCP at 127.0.0.1,
// the very address the hooks use: its entrypoint starts mongod forked
// (--fork), without --auth and bound to 127.0.0.1, creates the root user
// from MONGO_INITDB_ROOT_USERNAME, runs /docker-entrypoint-initdb.d, stops it
// and execs the real mongod with --auth. A ping without a login, which the
// restore used to wait for, is answered by the temporary server, and even a
// login succeeds there once the root user exists; a restore into it races the
// init scripts and is cut off when the entrypoint stops it. So the mongodb
// scripts wait, bounded, until probe.js, run by mongosh (or the legacy mongo
// shell), logs in with the dump's credentials and finds the real server:
// getCmdLineOpts shows it not forked and, where there are credentials,
// enforcing authorization (security.authorization enabled or a keyFile); a
// failed login, the temporary server or no server at all is waited out, and
// named when the wait runs out. The restore also waits until the server
// accepts writes (a standalone server or a replica set's primary: hello's
// isWritablePrimary, isMaster's ismaster before 4.4.2). The dump waits the
// same way (for a server that has just been restarted), without the need to
// accept writes.
//
// # MongoDB
//
// Whether the server is a replica-set member comes from the probe (hello's
// setName; see above). On a member, the dump of every database (no
// backup.databases) runs mongodump --oplog, which makes it a point-in-time
// snapshot: the archive holds the oplog written during the dump. mongodump
// refuses --oplog with --db, so listed databases are dumped without it, each
// on its own, even on a replica set: such dumps are not a point-in-time
// snapshot, which the dump notes on stderr and the plan warns about (taking a
// full dump with the oplog and restoring only the listed databases instead
// would replay other databases' operations and change the dump files). On a
// standalone server there is no oplog to take.
//
// mongodb.info records whether the archive holds the oplog (oplog=yes) and
// the replica set it came from. The restore replays the oplog
// (mongorestore --oplogReplay) exactly when it is there, whatever the server
// it restores into: --oplogReplay fails on an archive without an oplog, and
// an oplog dump restored into a standalone server is replayed there too.
//
// # Neo4j
//
// neo4j-admin dumps and loads (4.x: neo4j-admin dump and load; 5.x and the
// calendar versions after it: neo4j-admin database dump and load) only a
// database that is not running: it refuses one in use ("The database is in
// use. Stop database '<name>' and try again."). The scripts spell the
// commands as the image's neo4j-admin --version asks (4.x or later); 3.x
// is refused.
//
// The dump runs in the server's container, while the DBMS runs. Its edition
// comes from NEO4J_EDITION, which the official images set, and otherwise
// from the server (CALL dbms.components() through cypher-shell).
//
//   - Enterprise: for each database but system, one at a time, the dump
//     stops the database (cypher-shell on the system database, STOP DATABASE
//     <name> WAIT, logging in with NEO4J_AUTH, "user/password" or "none"),
//     dumps it and starts it again (START DATABASE <name> WAIT). This is an
//     explicit downtime: the database is unavailable for the length of its
//     dump, which the dump notes on stderr and the plan warns about. A
//     database the dump stopped is started again on any exit, a failure or
//     a signal (the cleanup trap; not a SIGKILL); a failed start fails the
//     dump. The system database (users, roles, privileges and the registry
//     of the other databases) cannot be stopped, so it is backed up online
//     instead (neo4j-admin database backup, 4.x: neo4j-admin backup, a
//     directory the dump tars), from Enterprise's backup server
//     (localhost:6362, enabled by default). Neo4j's online backup could take
//     every database without downtime; the dumps are kept for the others
//     because a dump is the portable format (it loads into any edition), it
//     needs no backup server, and it is what backup.databases documents.
//   - Community: neo4j-admin dumps only while the whole DBMS is stopped,
//     and a hook runs inside the server's container, which it cannot stop
//     (stopping the server stops the container). The dump refuses, before it
//     touches the server, with an error that says so: Community edition
//     cannot be backed up with kind neo4j. Plans warn when the image is not
//     named like an Enterprise one, since the edition is known for sure only
//     when the dump runs.
//
// neo4j.info records the version, the edition and the default database's name
// (from NEO4J_initial_dbms_default__database, 4.x
// NEO4J_dbms_default__database, else "neo4j").
//
// The load runs before the server starts, in an init container that Velero
// adds to each restored pod (a velerov1.InitRestoreHook, in the same
// RestoreResourceHookSpec as the check below; Velero puts it after its
// restore-wait init container, so the dump volume is back by then).
// RestoreInitContainer has the server container's image, image pull policy,
// volume mounts (the data and the dump volume), security context and
// resources, and runs the load script. It thus runs as the user the server's
// container and its exec hooks run as, the user that wrote the (private)
// dumps: with the official image and no securityContext that is root, and the
// image's entrypoint hands files in /data that its neo4j user (uid 7474)
// cannot write to that user when the server starts; with a securityContext
// (runAsUser 7474) the load runs as neo4j itself. The init container has none
// of the server's environment: neo4j-admin uses the image's configuration
// (the official image keeps its data in /data), and the default database's
// name comes from neo4j.info. The load checks the dump as every restore does,
// refuses a dump of another major version (4.x against 5.x or later),
// restores system first (neo4j-admin database restore; 4.x neo4j-admin
// restore) and loads the others (--overwrite-destination=true; 4.x --force).
// It then writes neo4j.loaded, which names the backup: Kubernetes runs init
// containers again whenever it recreates the pod's sandbox (a node reboot),
// and the load then finds its backup named there and does nothing, rather
// than replace what the server has written since.
//
// Velero neither waits for init containers nor reports their failure, so a
// post-restore exec hook in the server's container checks that neo4j.loaded
// names the backup and fails the restore otherwise; a pod whose init
// container keeps failing never starts the server's container, and the check
// then fails when its wait runs out. RestoreInitContainer needs the server's
// image: CheckRestore fails for a plan built from a pod that names none.
package strategy

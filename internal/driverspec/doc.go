// Package driverspec parses and validates the backup settings of a Styrmin
// driver file, driver.styrmin.yml. It knows nothing of Terraform: a data
// source wraps it.
//
// # What is read
//
// Only metadata.name, spec.version and spec.components are read. Every other
// key (helm, parameters, services, actions, info, env_vars, ...) is accepted
// and ignored, and so are unknown keys inside a component or its identifier,
// unless they are a near miss of backup, identifier or label: a misspelt
// backup block would leave the component silently unprotected. apiVersion and
// kind are optional but, when present, must be "styrmin.io/v1" and
// "ApplicationDriver". Anchors, aliases and merge keys (<<) work as in YAML;
// a key that occurs twice in a map this package reads is an error.
//
// spec.components is a map keyed by component name. Each component has:
//
//   - identifier.label: the matchLabels that select the component's pods.
//     Required when the backup is enabled; must not be empty; keys must be
//     qualified names and values valid label values.
//   - backup: the backup block below. A component without one is not
//     backed up.
//
// # The backup block
//
// Unknown keys inside backup are errors, with a "did you mean" suggestion: a
// misspelt key would otherwise silently change what is protected. Keys that
// exist but do nothing for the chosen kind are errors too.
//
//	enabled          bool; defaults to true when a backup block is present.
//	kind             disk | postgres | mariadb | mongodb | neo4j | action;
//	                 required when enabled.
//	volume, volumes  one pod-template volume name, or a list of them (never
//	                 both). Names are the entries under volumes: in the pod
//	                 spec, not PVC names; DNS-1123 labels; no duplicates.
//	container        the container the dump or commands run in (DNS-1123
//	                 label). Database kinds and action only.
//	database,        one database name, or a list of them (never both).
//	databases        Database kinds only.
//	backup_command   argv list run before the volumes are backed up. action only.
//	restore_command  argv list run after the volumes are restored. action only.
//	timeout          Go duration bounding each command, 1s to 24h; default
//	                 10m (DefaultTimeout). Database kinds and action only.
//
// When enabled is false, nothing is required, but whatever is written is
// still validated, so switching a component on later cannot uncover old
// mistakes.
//
// # Per kind
//
// disk: volume or volumes is required. The named volumes are backed up as
// they are (Velero file-system backup); nothing runs in the pod.
//
// postgres, mariadb, mongodb, neo4j: volume (or a one-element volumes) names
// the dump volume, required, exactly one: the dump is written to the
// volume's mount path and that volume alone is backed up. The database's own
// data volume must not be listed, because a copy of a live data directory is
// not a consistent backup. Everything else is discovered from the pod spec
// when the backup runs rather than written in the driver file (this package
// only records what the file says; the strategies resolve the rest):
//
//   - container, when not set: the container that mounts the dump volume;
//     if several do, the one named like the kind (e.g. "postgres");
//     otherwise the backup fails and asks for backup.container.
//   - credentials: see below; never in the driver file.
//   - databases, when not set: see below. A list that is given is dumped
//     as is.
//
// action: container and backup_command are required; restore_command is
// optional (a command that only quiesces or flushes needs no restore);
// volume or volumes are optional and name where backup_command writes, which
// is what gets backed up and, on restore, put back before restore_command
// runs. Commands are argv lists: a single string is rejected rather than
// split; write [/bin/sh, -c, "..."] for a shell.
//
// # Credentials
//
// The dump runs inside the container, so it reads credentials from the
// container's own environment by variable name: the provider never sees
// their values, and secrets referenced with valueFrom stay in the pod.
// Passwords reach the dump tool through its environment or an option file,
// never argv. NAME_FILE (e.g. POSTGRES_PASSWORD_FILE) is read from the file
// it names when NAME is not set.
//
//   - postgres: user PGUSER, else POSTGRES_USER, else "postgres"; password
//     PGPASSWORD, else POSTGRES_PASSWORD, else none (local socket trust).
//   - mariadb: root with MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD; else
//     MARIADB_USER with MARIADB_PASSWORD, or MYSQL_USER with MYSQL_PASSWORD.
//   - mongodb: MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD,
//     authentication database admin; none: no authentication.
//   - neo4j: neo4j-admin dumps store files and needs no login; NEO4J_AUTH
//     ("user/password") is used only where the database is stopped and
//     started through cypher-shell.
//
// # Databases dumped by default
//
//   - postgres: PGDATABASE, else POSTGRES_DB, else the user name (the
//     official image's own default).
//   - mariadb: MARIADB_DATABASE or MYSQL_DATABASE, else all databases
//     (needs root).
//   - mongodb: all databases.
//   - neo4j: NEO4J_initial_dbms_default__database (5.x) or
//     NEO4J_dbms_default__database (4.4), else "neo4j"; and "system", which
//     holds users and roles.
//
// # Errors
//
// Parse reports every problem it finds, not just the first, as an *Error
// holding one Problem per finding, each with the component, the field, the
// line (and column where known) and a message that says how to fix it.
package driverspec

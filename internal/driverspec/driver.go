package driverspec

import (
	"slices"
	"time"
)

// Kind is a backup strategy: how a component's data is captured.
type Kind string

const (
	// KindDisk backs up the named pod-template volumes as they are.
	KindDisk Kind = "disk"
	// KindPostgres runs pg_dump into a dump volume, which is then backed up.
	KindPostgres Kind = "postgres"
	// KindMariaDB runs mariadb-dump into a dump volume (MariaDB and MySQL).
	KindMariaDB Kind = "mariadb"
	// KindMongoDB runs mongodump into a dump volume.
	KindMongoDB Kind = "mongodb"
	// KindNeo4j runs neo4j-admin database dump into a dump volume.
	KindNeo4j Kind = "neo4j"
	// KindAction runs commands the driver author supplies.
	KindAction Kind = "action"
)

// DefaultTimeout bounds each backup or restore command when backup.timeout is
// not set. Velero's own default for exec hooks is 30s, too short for a dump of
// any real database.
const DefaultTimeout = 10 * time.Minute

// Timeouts outside these bounds are almost certainly typos ("10ms" for "10m").
const (
	minTimeout = time.Second
	maxTimeout = 24 * time.Hour
)

// Kinds returns every valid kind, in the order the documentation lists them.
func Kinds() []Kind {
	return []Kind{KindDisk, KindPostgres, KindMariaDB, KindMongoDB, KindNeo4j, KindAction}
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	return slices.Contains(Kinds(), k)
}

// IsDatabase reports whether k dumps a database into a single dump volume.
func (k Kind) IsDatabase() bool {
	switch k {
	case KindPostgres, KindMariaDB, KindMongoDB, KindNeo4j:
		return true
	}
	return false
}

// RunsCommands reports whether k runs commands inside a container, and so
// takes backup.container and backup.timeout.
func (k Kind) RunsCommands() bool {
	return k.IsDatabase() || k == KindAction
}

// Driver is the part of a driver.styrmin.yml file that backups need.
type Driver struct {
	// Name is metadata.name.
	Name string
	// Version is spec.version, as written.
	Version string
	// Components is spec.components, keyed by component name.
	Components map[string]Component
}

// ComponentNames returns the component names in sorted order, so that callers
// produce stable plans and diagnostics.
func (d *Driver) ComponentNames() []string {
	names := make([]string, 0, len(d.Components))
	for name := range d.Components {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// SortedComponents returns the components ordered by name.
func (d *Driver) SortedComponents() []Component {
	components := make([]Component, 0, len(d.Components))
	for _, name := range d.ComponentNames() {
		components = append(components, d.Components[name])
	}
	return components
}

// Component is one entry of spec.components.
type Component struct {
	// Name is the component's key under spec.components.
	Name string
	// Selector is identifier.label, the matchLabels that select the
	// component's pods. It is nil only when the component has no enabled
	// backup and no identifier.label.
	Selector map[string]string
	// Backup holds the normalised backup settings.
	Backup Backup
}

// Backup is a component's backup block after normalisation: backup.volume is
// folded into Volumes, backup.database into Databases, and Timeout holds
// DefaultTimeout when the kind runs commands and no timeout was given.
type Backup struct {
	// Enabled is false when the component has no backup block or says
	// enabled: false. A backup block without enabled is enabled.
	Enabled bool
	// Kind is empty only when Enabled is false and no kind was given.
	Kind Kind
	// Volumes are pod-template volume names: the volumes to back up for
	// disk and action, the single dump volume for database kinds.
	Volumes []string
	// Container runs the dump or the commands. Empty means "resolve from the
	// pod spec" (database kinds only).
	Container string
	// Databases to dump. Empty means "use the kind's default" (see the
	// package documentation).
	Databases []string
	// BackupCommand is the argv run before the volumes are backed up (action).
	BackupCommand []string
	// RestoreCommand is the argv run after the volumes are restored (action,
	// optional).
	RestoreCommand []string
	// Timeout bounds each command; zero for kinds that run no command.
	Timeout time.Duration
}

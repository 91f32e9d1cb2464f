package strategy

import (
	"fmt"
	"strings"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// dumpFile is one database dump in the dump directory.
type dumpFile struct {
	// Name is the file name, relative to the dump directory.
	Name string
	// Database is the database the file holds; empty for the kind's default
	// database (or, for mariadb, the whole dump), which only the container's
	// environment can tell.
	Database string
}

// Tmp is where the dump is written before it is complete.
func (d dumpFile) Tmp() string {
	return d.Name + ".tmp"
}

// DB is a shell word for the database: a quoted name, or the variable the
// script resolves the kind's default database into.
func (d dumpFile) DB() string {
	if d.Database == "" {
		return `"$styrmin_database"`
	}
	return shellQuote(d.Database)
}

// dumpLayout names the files a database kind writes: file names are fixed
// when the plan is made, so the restore can check the marker lists exactly
// what it is about to replay.
func dumpLayout(b driverspec.Backup) (dumps []dumpFile, extra []string) {
	kind := string(b.Kind)
	perDatabase := func(suffixOf func(db string) string) []dumpFile {
		used := map[string]bool{}
		files := make([]dumpFile, len(b.Databases))
		for i, db := range b.Databases {
			suffix := suffixOf(db)
			name := kind + "-" + fileSafe(db) + suffix
			// Databases that differ only in characters fileSafe replaces
			// still get a file each.
			for n := 2; used[name]; n++ {
				name = fmt.Sprintf("%s-%s-%d%s", kind, fileSafe(db), n, suffix)
			}
			used[name] = true
			files[i] = dumpFile{Name: name, Database: db}
		}
		return files
	}

	suffix := func(s string) func(string) string { return func(string) string { return s } }

	switch b.Kind {
	case driverspec.KindPostgres:
		dumps = []dumpFile{{Name: "postgres.dump"}}
		if len(b.Databases) > 0 {
			dumps = perDatabase(suffix(".dump"))
		}
		return dumps, []string{postgresGlobalsFile}
	case driverspec.KindMariaDB:
		// One dump holds every database: --databases writes CREATE DATABASE
		// and USE, so the restore needs no database argument.
		return []dumpFile{{Name: "mariadb.sql"}}, nil
	case driverspec.KindMongoDB:
		// The info file says how the dump was taken: whether the archive
		// holds the oplog, which the restore must then replay.
		if len(b.Databases) > 0 {
			return perDatabase(suffix(".archive.gz")), []string{infoFile(b.Kind)}
		}
		return []dumpFile{{Name: "mongodb.archive.gz"}}, []string{infoFile(b.Kind)}
	case driverspec.KindNeo4j:
		// system cannot be stopped, so it is backed up online (neo4j-admin
		// backup) rather than dumped: its file is a backup, not a dump. The
		// info file records the Neo4j version and the default database's
		// name, which the load, in an init container without the server's
		// environment, needs.
		neo4jSuffix := func(db string) string {
			if db == neo4jSystemDatabase {
				return ".backup"
			}
			return ".dump"
		}
		if len(b.Databases) > 0 {
			return perDatabase(neo4jSuffix), []string{infoFile(b.Kind)}
		}
		// system holds the users, roles and the registry of databases.
		return []dumpFile{{Name: "neo4j.dump"}, {Name: "neo4j-system.backup", Database: neo4jSystemDatabase}}, []string{infoFile(b.Kind)}
	}
	return nil, nil
}

// neo4jSystemDatabase is Neo4j's system database: users, roles, privileges
// and the registry of the other databases. It cannot be stopped.
const neo4jSystemDatabase = "system"

// Online reports whether the file is a neo4j online backup (the system
// database) rather than a dump.
func (d dumpFile) Online() bool {
	return d.Database == neo4jSystemDatabase
}

// infoFile is the file in which a dump of kind records how it was taken
// (mongodb, neo4j), relative to the dump directory; the marker vouches for
// it like for the dumps.
func infoFile(kind driverspec.Kind) string {
	return string(kind) + ".info"
}

// postgresGlobalsFile holds roles (without passwords) and tablespaces.
const postgresGlobalsFile = "postgres-globals.sql"

// markerName is the "dump complete" marker of kind, relative to the dump
// directory.
func markerName(kind driverspec.Kind) string {
	return string(kind) + ".sha256"
}

// fileNames are the names the marker lists, in the order they are written.
func (p *Plan) fileNames() []string {
	names := make([]string, 0, len(p.dumps)+len(p.extraFiles))
	for _, d := range p.dumps {
		names = append(names, d.Name)
	}
	return append(names, p.extraFiles...)
}

// fileSafe maps a database name, which may hold any character, to a file
// name part: letters, digits, '.', '_' and '-' are kept, anything else
// becomes '_'.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}

package driverspec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const sampleDriverPath = "../../examples/sample-app/driver.styrmin.yml"

// header is the start of every test driver: components begin on line 8.
const header = `apiVersion: styrmin.io/v1
kind: ApplicationDriver
metadata:
  name: app
spec:
  version: "1"
  components:
`

func TestParseFile_sampleApp(t *testing.T) {
	driver, err := ParseFile(sampleDriverPath)
	if err != nil {
		t.Fatalf("the sample app's driver file must parse: %v", err)
	}
	selector := func(component string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": "sample-app", "app.kubernetes.io/component": component}
	}
	want := &Driver{
		Name:    "sample-app",
		Version: "1",
		Components: map[string]Component{
			"postgres": {Name: "postgres", Selector: selector("postgres"), Backup: Backup{
				Enabled: true, Kind: KindPostgres, Container: "postgres", Volumes: []string{"postgres-dump"}, Timeout: DefaultTimeout,
			}},
			"mariadb": {Name: "mariadb", Selector: selector("mariadb"), Backup: Backup{
				Enabled: true, Kind: KindMariaDB, Container: "mariadb", Volumes: []string{"mariadb-dump"}, Timeout: DefaultTimeout,
			}},
			"files": {Name: "files", Selector: selector("files"), Backup: Backup{
				Enabled: true, Kind: KindDisk, Volumes: []string{"files-data"},
			}},
			"notes": {Name: "notes", Selector: selector("notes"), Backup: Backup{
				Enabled: true, Kind: KindAction, Container: "notes", Volumes: []string{"notes-export"}, Timeout: 2 * time.Minute,
				BackupCommand:  []string{"/bin/sh", "-c", "tar -C /data -cf /export/notes.tar.tmp . && sync && mv /export/notes.tar.tmp /export/notes.tar"},
				RestoreCommand: []string{"/bin/sh", "-c", "tar -C /data -xf /export/notes.tar"},
			}},
			"server": {Name: "server", Selector: selector("server"), Backup: Backup{Enabled: false}},
		},
	}
	if diff := cmp.Diff(want, driver); diff != "" {
		t.Errorf("sample app driver (-want +got):\n%s", diff)
	}
	if got, want := driver.ComponentNames(), []string{"files", "mariadb", "notes", "postgres", "server"}; !slices.Equal(got, want) {
		t.Errorf("ComponentNames() = %v, want %v", got, want)
	}
	var sortedNames []string
	for _, component := range driver.SortedComponents() {
		sortedNames = append(sortedNames, component.Name)
	}
	if !slices.Equal(sortedNames, driver.ComponentNames()) {
		t.Errorf("SortedComponents() order = %v, want %v", sortedNames, driver.ComponentNames())
	}
}

// validCases are driver files that parse, with the components they hold.
// FuzzParse starts from them too.
var validCases = map[string]struct {
	yaml string
	want map[string]Component
}{
	"enabled defaults to true when a kind is given": {
		yaml: header + `
    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volume: data}
`,
		want: map[string]Component{"files": {Name: "files", Selector: map[string]string{"app": "files"},
			Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data"}}}},
	},
	"disk with a list of volumes": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        enabled: true
        kind: disk
        volumes: [data, uploads]
`,
		want: map[string]Component{"files": {Name: "files", Selector: map[string]string{"app": "files"},
			Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data", "uploads"}}}},
	},
	"database kind with databases and a timeout": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup:
        kind: postgres
        volumes: [dump]
        databases: [app, reporting]
        timeout: 1h30m
`,
		want: map[string]Component{"db": {Name: "db", Selector: map[string]string{"app": "db"},
			Backup: Backup{Enabled: true, Kind: KindPostgres, Volumes: []string{"dump"}, Databases: []string{"app", "reporting"}, Timeout: 90 * time.Minute}}},
	},
	"each database kind with one dump volume": {
		yaml: header + `    maria:
      identifier: {label: {app: maria}}
      backup: {kind: mariadb, volume: dump, database: app}
    mongo:
      identifier: {label: {app: mongo}}
      backup: {kind: mongodb, volume: dump, container: mongo}
    graph:
      identifier: {label: {app: graph}}
      backup: {kind: neo4j, volume: dump, databases: [neo4j, system]}
`,
		want: map[string]Component{
			"maria": {Name: "maria", Selector: map[string]string{"app": "maria"},
				Backup: Backup{Enabled: true, Kind: KindMariaDB, Volumes: []string{"dump"}, Databases: []string{"app"}, Timeout: DefaultTimeout}},
			"mongo": {Name: "mongo", Selector: map[string]string{"app": "mongo"},
				Backup: Backup{Enabled: true, Kind: KindMongoDB, Volumes: []string{"dump"}, Container: "mongo", Timeout: DefaultTimeout}},
			"graph": {Name: "graph", Selector: map[string]string{"app": "graph"},
				Backup: Backup{Enabled: true, Kind: KindNeo4j, Volumes: []string{"dump"}, Databases: []string{"neo4j", "system"}, Timeout: DefaultTimeout}},
		},
	},
	"action with both commands and volumes": {
		yaml: header + `    search:
      identifier: {label: {app: search}}
      backup:
        kind: action
        container: search
        backup_command: [/bin/sh, -c, "search-export /export && sync", true, 5]
        restore_command: [search-import, /export]
        volumes: [export]
        timeout: 30m
`,
		want: map[string]Component{"search": {Name: "search", Selector: map[string]string{"app": "search"},
			Backup: Backup{Enabled: true, Kind: KindAction, Container: "search", Volumes: []string{"export"},
				BackupCommand:  []string{"/bin/sh", "-c", "search-export /export && sync", "true", "5"},
				RestoreCommand: []string{"search-import", "/export"}, Timeout: 30 * time.Minute}}},
	},
	"action without restore command or volumes": {
		yaml: header + `    cache:
      identifier: {label: {app: cache}}
      backup: {kind: action, container: redis, backup_command: [redis-cli, save]}
`,
		want: map[string]Component{"cache": {Name: "cache", Selector: map[string]string{"app": "cache"},
			Backup: Backup{Enabled: true, Kind: KindAction, Container: "redis", BackupCommand: []string{"redis-cli", "save"}, Timeout: DefaultTimeout}}},
	},
	"disabled backup needs neither kind, settings nor selector": {
		yaml: header + `    draft:
      backup:
        enabled: false
        kind: disk
    stateless:
      backup: {enabled: false}
    plain:
      replicas: 2
`,
		want: map[string]Component{
			"draft":     {Name: "draft", Backup: Backup{Kind: KindDisk}},
			"stateless": {Name: "stateless"},
			"plain":     {Name: "plain"},
		},
	},
	"unknown keys outside backup are ignored": {
		yaml: `# a comment
apiVersion: styrmin.io/v1
kind: ApplicationDriver
metadata: {name: app, labels: {a: b}}
spec:
  version: 1.10
  supported_versions: ">=1.0,<2.0"
  default_version: "1.2.0"
  info: {description: x, authors: [a], links: [{link: Docs, url: "https://example.com"}]}
  helm: {main: {location: "oci://ghcr.io/x/y", version: "0.3.0"}}
  parameters: [{name: replicas, kind: integer, default: 2}]
  parameters: [{name: duplicate, kind: integer}]
  services: [{name: app, kind: http, scope: external, port: 8000, component: app}]
  env_vars: [{name: X, value: y}]
  container_overrides: []
  actions: [{name: pre_setup, hook: setup, mode: pre, location: "actions.py::pre_setup"}]
  components:
    app:
      description: the server
      identifier: {label: {app: app}, name: ignored}
      backup: {kind: disk, volume: data}
future_key: {anything: [1, 2]}
`,
		want: map[string]Component{"app": {Name: "app", Selector: map[string]string{"app": "app"},
			Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data"}}}},
	},
	"anchors and merge keys": {
		yaml: header + `    a:
      identifier:
        label: &labels {app.kubernetes.io/name: app, tier: db}
      backup: &dump
        kind: postgres
        volume: dump
    b:
      identifier:
        label:
          <<: *labels
          tier: cache
      backup:
        <<: *dump
        kind: mariadb
`,
		want: map[string]Component{
			"a": {Name: "a", Selector: map[string]string{"app.kubernetes.io/name": "app", "tier": "db"},
				Backup: Backup{Enabled: true, Kind: KindPostgres, Volumes: []string{"dump"}, Timeout: DefaultTimeout}},
			"b": {Name: "b", Selector: map[string]string{"app.kubernetes.io/name": "app", "tier": "cache"},
				Backup: Backup{Enabled: true, Kind: KindMariaDB, Volumes: []string{"dump"}, Timeout: DefaultTimeout}},
		},
	},
	"merges that loop or share a map": {
		yaml: header + `    a:
      identifier: {label: &base {app: a, <<: *base}}
      backup: &disk {kind: disk, <<: [*disk, *disk], volume: data}
    b:
      identifier:
        label: {<<: [{<<: *base, tier: x}, {<<: *base, tier: y}]}
      backup: *disk
`,
		want: map[string]Component{
			"a": {Name: "a", Selector: map[string]string{"app": "a"},
				Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data"}}},
			"b": {Name: "b", Selector: map[string]string{"app": "a", "tier": "x"},
				Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data"}}},
		},
	},
	"empty trailing document": {
		yaml: header + `    a:
      identifier: {label: {app: a}}
      backup: {kind: disk, volume: data}
---
`,
		want: map[string]Component{"a": {Name: "a", Selector: map[string]string{"app": "a"},
			Backup: Backup{Enabled: true, Kind: KindDisk, Volumes: []string{"data"}}}},
	},
}

func TestParse_valid(t *testing.T) {
	for name, test := range validCases {
		t.Run(name, func(t *testing.T) {
			driver, err := Parse([]byte(test.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if driver.Name != "app" {
				t.Errorf("Name = %q, want app", driver.Name)
			}
			if diff := cmp.Diff(test.want, driver.Components); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_versionKeptAsWritten(t *testing.T) {
	driver, err := Parse([]byte("metadata: {name: app}\nspec:\n  version: 1.10\n  components: {a: {backup: {enabled: false}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if driver.Version != "1.10" {
		t.Errorf("Version = %q, want 1.10 as written", driver.Version)
	}
}

// wantProblem is a problem a test expects: component and field exactly, the
// line exactly, and a part of the message.
type wantProblem struct {
	component string
	field     string
	line      int
	message   string
}

// errorCases are invalid driver files with every problem Parse must report.
// FuzzParse starts from them too.
var errorCases = map[string]struct {
	yaml string
	want []wantProblem
}{
	"disk without volumes": {
		yaml: header + `    files:
      identifier:
        label: {app: files}
      backup:
        kind: disk
`,
		want: []wantProblem{{"files", "backup.volumes", 12, `backup.kind is "disk" but neither backup.volume nor backup.volumes is set: name the pod-template volume(s) to back up`}},
	},
	"disk with an empty volume list": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volumes: []
`,
		want: []wantProblem{{"files", "backup.volumes", 11, `backup.kind is "disk" but backup.volumes is empty`}},
	},
	"both volume and volumes": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volume: data
        volumes: [data]
`,
		want: []wantProblem{{"files", "backup.volumes", 13, "backup.volume and backup.volumes are both set"}},
	},
	"unknown kind with a close match": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup: {kind: postgresql, volume: dump}
`,
		want: []wantProblem{{"db", "backup.kind", 10, `backup.kind "postgresql" is not a known kind: use one of disk, postgres, mariadb, mongodb, neo4j, action (did you mean "postgres"?)`}},
	},
	"a component name with a space": {
		yaml: header + `    orders db:
      identifier: {label: {app: db}}
      backup: {kind: postgres, volume: dump}
`,
		want: []wantProblem{{"", "spec.components", 8, `the component name "orders db", which holds a space, '=' or a control character`}},
	},
	"mysql points at mariadb": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup: {kind: mysql, volume: dump}
`,
		want: []wantProblem{{"db", "backup.kind", 10, `did you mean "mariadb"?`}},
	},
	"unknown key in backup": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volums: [data]
`,
		want: []wantProblem{
			{"files", "backup.volumes", 11, "neither backup.volume nor backup.volumes is set"},
			{"files", "backup.volums", 12, `backup.volums is not a backup setting: did you mean "volume" or "volumes"?`},
		},
	},
	"camel-cased key in backup": {
		yaml: header + `    job:
      identifier: {label: {app: job}}
      backup: {kind: action, container: job, backupCommand: [run]}
`,
		want: []wantProblem{
			{"job", "backup.backup_command", 10, "backup.backup_command is not set"},
			{"job", "backup.backupCommand", 10, `did you mean "backup_command"?`},
		},
	},
	"unknown key with no close match": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volume: data, schedule: daily}
`,
		want: []wantProblem{{"files", "backup.schedule", 10, "the settings are enabled, kind, volume"}},
	},
	"credentials in backup": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup: {kind: postgres, volume: dump, password: hunter2}
`,
		want: []wantProblem{{"db", "backup.password", 10, "credentials never go in the driver file"}},
	},
	"missing identifier": {
		yaml: header + `    files:
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 8, "identifier.label is missing"}},
	},
	"identifier without label": {
		yaml: header + `    files:
      identifier: {name: files}
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 9, "identifier.label is missing"}},
	},
	"misspelt backup and label keys": {
		yaml: header + `    files:
      identifier: {lable: {app: files}}
      backups: {kind: disk, volume: data}
`,
		want: []wantProblem{
			{"files", "identifier.lable", 9, `identifier.lable is not a known key: did you mean "label"?`},
			{"files", "backups", 10, `backups is not a known key: did you mean "backup"?`},
		},
	},
	"identifier not a map": {
		yaml: header + `    files:
      identifier: files
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier", 9, `identifier must be a map with label, not the string "files"`}},
	},
	"empty label selector": {
		yaml: header + `    files:
      identifier: {label: {}}
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 9, "identifier.label is empty: an empty selector matches every pod"}},
	},
	"null label selector": {
		yaml: header + `    files:
      identifier:
        label:
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 10, "identifier.label is empty"}},
	},
	"label selector is a list": {
		yaml: header + `    files:
      identifier:
        label: [app=files]
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 10, "identifier.label must be a map of label keys to values (matchLabels), not a list"}},
	},
	"invalid label key and value": {
		yaml: header + `    files:
      identifier:
        label:
          Bad Key: files
          app: "not valid!"
          tier: true
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{
			{"files", "identifier.label", 11, `identifier.label key "Bad Key" is not a valid label key`},
			{"files", "identifier.label", 12, `identifier.label value "not valid!" for key "app" is not a valid label value`},
			{"files", "identifier.label", 13, `identifier.label value for key "tier" must be a string, not the boolean true`},
		},
	},
	"duplicate volumes": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volumes:
          - data
          - uploads
          - data
`,
		want: []wantProblem{{"files", "backup.volumes[2]", 15, `backup.volumes[2] "data" is listed twice (first on line 13)`}},
	},
	"invalid volume names": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volumes: [Files_Data, ok, ""]
    other:
      identifier: {label: {app: other}}
      backup: {kind: disk, volume: my.volume}
`,
		want: []wantProblem{
			{"files", "backup.volumes[0]", 12, `backup.volumes[0] "Files_Data" is not a volume name: a lowercase RFC 1123 label`},
			{"files", "backup.volumes[2]", 12, `backup.volumes[2] "" is not a volume name`},
			{"other", "backup.volume", 15, `backup.volume "my.volume" is not a volume name`},
		},
	},
	"volumes not a list": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volumes: data}
`,
		want: []wantProblem{{"files", "backup.volumes", 10, `backup.volumes must be a list, not the string "data": write volumes: [a, b], or volume: a`}},
	},
	"volume is a list": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volume: [data]}
`,
		want: []wantProblem{{"files", "backup.volume", 10, "backup.volume must be a volume name, not a list"}},
	},
	"enabled not a boolean": {
		yaml: header + `    a:
      identifier: {label: {app: a}}
      backup: {enabled: yes, kind: disk, volume: data}
    b:
      identifier: {label: {app: b}}
      backup: {enabled: "false", kind: disk, volume: data}
`,
		want: []wantProblem{
			{"a", "backup.enabled", 10, `backup.enabled must be true or false, not the string "yes"`},
			{"b", "backup.enabled", 13, `backup.enabled must be true or false, not the string "false"`},
		},
	},
	"kind missing": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        volume: data
`,
		want: []wantProblem{{"files", "backup.kind", 10, "backup.kind is missing: set it to one of disk, postgres"}},
	},
	"empty backup block": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
`,
		want: []wantProblem{{"files", "backup.kind", 10, "backup is empty"}},
	},
	"backup block is a list": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: [disk]
`,
		want: []wantProblem{{"files", "backup", 10, "backup must be a map with enabled, kind and the kind's settings, not a list"}},
	},
	"database kind without dump volume": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup:
        kind: mariadb
        container: mariadb
`,
		want: []wantProblem{{"db", "backup.volume", 11, `backup.kind is "mariadb" but neither backup.volume nor backup.volumes is set: name the pod-template volume the dump is written to`}},
	},
	"database kind with two volumes": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup:
        kind: postgres
        volumes: [dump, data]
`,
		want: []wantProblem{{"db", "backup.volumes", 12, `backup.volumes lists 2 volumes, but kind "postgres" writes its dump to exactly one volume`}},
	},
	"action without container and command": {
		yaml: header + `    job:
      identifier: {label: {app: job}}
      backup:
        kind: action
        restore_command: [import]
`,
		want: []wantProblem{
			{"job", "backup.container", 11, `backup.kind is "action" but backup.container is not set`},
			{"job", "backup.backup_command", 11, `backup.kind is "action" but backup.backup_command is not set`},
		},
	},
	"action commands of the wrong shape": {
		yaml: header + `    job:
      identifier: {label: {app: job}}
      backup:
        kind: action
        container: job
        backup_command: "export --all"
        restore_command: []
    job2:
      identifier: {label: {app: job2}}
      backup:
        kind: action
        container: job2
        backup_command: ["", [nested], ~, "a\0b"]
`,
		want: []wantProblem{
			{"job", "backup.backup_command", 13, `backup.backup_command must be a list of arguments (argv), not the string "export --all"`},
			{"job", "backup.restore_command", 14, "backup.restore_command is empty"},
			{"job2", "backup.backup_command[0]", 20, "backup.backup_command[0] is blank"},
			{"job2", "backup.backup_command[1]", 20, "backup.backup_command[1] must be a string, not a list"},
			{"job2", "backup.backup_command[2]", 20, "backup.backup_command[2] must be a string, not empty"},
			{"job2", "backup.backup_command[3]", 20, "backup.backup_command[3] contains a NUL character"},
		},
	},
	"invalid timeouts": {
		yaml: header + `    a:
      identifier: {label: {app: a}}
      backup: {kind: postgres, volume: dump, timeout: 600}
    b:
      identifier: {label: {app: b}}
      backup: {kind: postgres, volume: dump, timeout: 10ms}
    c:
      identifier: {label: {app: c}}
      backup: {kind: postgres, volume: dump, timeout: [10m]}
`,
		want: []wantProblem{
			{"a", "backup.timeout", 10, `backup.timeout "600" is not a duration: write a number with a unit`},
			{"b", "backup.timeout", 13, `backup.timeout "10ms" is out of range: it must be between 1s and 24h0m0s`},
			{"c", "backup.timeout", 16, "backup.timeout must be a duration"},
		},
	},
	"invalid container": {
		yaml: header + `    db:
      identifier: {label: {app: db}}
      backup: {kind: postgres, volume: dump, container: Postgres_DB}
`,
		want: []wantProblem{{"db", "backup.container", 10, `backup.container "Postgres_DB" is not a valid container name`}},
	},
	"invalid databases": {
		yaml: header + `    a:
      identifier: {label: {app: a}}
      backup: {kind: postgres, volume: dump, databases: []}
    b:
      identifier: {label: {app: b}}
      backup: {kind: postgres, volume: dump, databases: [app, --all, app]}
    c:
      identifier: {label: {app: c}}
      backup: {kind: postgres, volume: dump, database: app, databases: [app]}
`,
		want: []wantProblem{
			{"a", "backup.databases", 10, "backup.databases is empty: list the databases to dump, or remove it"},
			{"b", "backup.databases[1]", 13, `backup.databases[1] "--all" is not a database name: it starts with "-"`},
			{"b", "backup.databases[2]", 13, `backup.databases[2] "app" is listed twice`},
			{"c", "backup.databases", 16, "backup.database and backup.databases are both set"},
		},
	},
	"settings the kind does not use": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volume: data, container: files, timeout: 5m, database: x}
    db:
      identifier: {label: {app: db}}
      backup: {kind: postgres, volume: dump, backup_command: [pg_dump]}
`,
		want: []wantProblem{
			{"files", "backup.container", 10, `backup.container is not used by kind "disk": remove it (kind "disk" backs up the volumes as they are and runs no command)`},
			{"files", "backup.timeout", 10, `backup.timeout is not used by kind "disk"`},
			{"files", "backup.database", 10, `backup.database is not used by kind "disk": remove it (only the database kinds`},
			{"db", "backup.backup_command", 13, `backup.backup_command is not used by kind "postgres": remove it (kind "postgres" runs its own commands; use kind "action"`},
		},
	},
	"disabled backup still validates what is written": {
		yaml: header + `    files:
      backup:
        enabled: false
        kind: disk
        volume: Bad_Name
        volums: [x]
`,
		want: []wantProblem{
			{"files", "backup.volume", 12, `backup.volume "Bad_Name" is not a volume name`},
			{"files", "backup.volums", 13, `did you mean "volume" or "volumes"?`},
		},
	},
	"duplicate keys": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
        volume: data
        kind: postgres
    files:
      identifier: {label: {app: other}}
`,
		want: []wantProblem{
			{"files", "backup.kind", 13, "backup.kind is set twice (first on line 11)"},
			{"", "spec.components.files", 14, "spec.components.files is set twice (first on line 8)"},
		},
	},
	"component without settings": {
		yaml: header + `    files:
    identifier:
      label: {app: files}
`,
		want: []wantProblem{{"files", "", 8, "the component has no settings: indent identifier and backup under it"}},
	},
	"component is a list": {
		yaml: header + `    files: [disk]
`,
		want: []wantProblem{{"files", "", 8, "the component must be a map with identifier and backup, not a list"}},
	},
	"components is a list": {
		yaml: header + `    - name: files
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"", "spec.components", 8, "spec.components must be a map keyed by component name, not a list"}},
	},
	"components is empty": {
		yaml: header + "    {}\n",
		want: []wantProblem{{"", "spec.components", 7, "spec.components has no components"}},
	},
	"components missing, metadata.name and spec.version missing": {
		yaml: `apiVersion: styrmin.io/v1
kind: ApplicationDriver
metadata: {}
spec:
  helm: {}
`,
		want: []wantProblem{
			{"", "metadata.name", 3, "metadata.name is missing"},
			{"", "spec.version", 4, "spec.version is missing"},
			{"", "spec.components", 4, "spec.components is missing"},
		},
	},
	"metadata and spec missing": {
		yaml: "kind: ApplicationDriver\n",
		want: []wantProblem{
			{"", "metadata", 1, "metadata is missing"},
			{"", "spec", 1, "spec is missing"},
		},
	},
	"spec is a list": {
		yaml: "metadata: {name: app}\nspec: [a]\n",
		want: []wantProblem{{"", "spec", 2, "spec must be a map, not a list"}},
	},
	"wrong apiVersion and kind": {
		yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {version: '1', components: {a: {}}}\n",
		want: []wantProblem{
			{"", "apiVersion", 1, `apiVersion is "apps/v1"`},
			{"", "kind", 2, `kind is "Deployment", not "ApplicationDriver"`},
		},
	},
	"not a map": {
		yaml: "- a\n- b\n",
		want: []wantProblem{{"", "", 1, "the driver file must be a map with apiVersion, kind, metadata and spec, not a list"}},
	},
	"empty file": {
		yaml: "# nothing here\n",
		want: []wantProblem{{"", "", 1, "the driver file is empty"}},
	},
	"second document": {
		yaml: header + `    a: {backup: {enabled: false}}
---
kind: Other
`,
		want: []wantProblem{{"", "", 10, "a second YAML document starts here"}},
	},
	"syntax error: unclosed flow list": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk, volumes: [data}
`,
		want: []wantProblem{{"", "", 10, "YAML syntax error: did not find expected ',' or ']'"}},
	},
	"syntax error: bad indentation": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup:
        kind: disk
       volume: data
`,
		want: []wantProblem{{"", "", 12, "YAML syntax error: did not find expected key"}},
	},
	"syntax error: mapping value in a plain scalar": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: kind: disk
`,
		want: []wantProblem{{"", "", 10, "YAML syntax error: mapping values are not allowed in this context"}},
	},
	"syntax error: tab indentation": {
		yaml: header + "    files:\n\t  backup: {}\n",
		want: []wantProblem{{"", "", 9, "YAML syntax error: found character that cannot start any token"}},
	},
	"unknown anchor": {
		yaml: header + `    files:
      identifier: {label: *labels}
`,
		want: []wantProblem{{"", "", 9, "YAML syntax error: unknown anchor 'labels' referenced: define the anchor (&labels)"}},
	},
	"invalid UTF-8": {
		yaml: header + "    files:\n      identifier: {label: {app: \xff}}\n",
		want: []wantProblem{{"", "", 9, "the driver file is not valid UTF-8 (byte 0xff)"}},
	},
	"control character": {
		yaml: header + "    files:\x07\n",
		want: []wantProblem{{"", "", 8, "the driver file contains the control character U+0007"}},
	},
	"aliases that expand to a huge tree": {
		yaml: `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
`,
		want: []wantProblem{{"", "", 1, "the driver file is too large: it has more than 100000 YAML nodes"}},
	},
	"file too large": {
		yaml: header + strings.Repeat("# padding\n", 110_000),
		want: []wantProblem{{"", "", 1, "the driver file is too large: 1100"}},
	},
	"merge of a scalar": {
		yaml: header + `    files:
      identifier: {label: {<<: x, app: files}}
      backup: {kind: disk, volume: data}
`,
		want: []wantProblem{{"files", "identifier.label", 9, `identifier.label merges (<<) the string "x"`}},
	},
	"many problems at once, in file order": {
		yaml: header + `    files:
      identifier: {label: {app: files}}
      backup: {kind: disk}
    db:
      backup: {kind: postgres, volume: dump}
    other:
      identifier: {label: {app: other}}
      backup: {kind: nope}
`,
		want: []wantProblem{
			{"files", "backup.volumes", 10, "neither backup.volume nor backup.volumes is set"},
			{"db", "identifier.label", 11, "identifier.label is missing"},
			{"other", "backup.kind", 15, `backup.kind "nope" is not a known kind`},
		},
	},
}

func TestParse_errors(t *testing.T) {
	for name, test := range errorCases {
		t.Run(name, func(t *testing.T) {
			driver, err := Parse([]byte(test.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", driver)
			}
			if driver != nil {
				t.Errorf("Parse returned a driver with its error")
			}
			t.Log(err)
			parseErr, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			if len(parseErr.Problems) != len(test.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(parseErr.Problems), len(test.want), err)
			}
			for _, want := range test.want {
				if !hasProblem(parseErr.Problems, want) {
					t.Errorf("missing problem %+v; got:\n%v", want, describeProblems(parseErr.Problems))
				}
			}
		})
	}
}

func hasProblem(problems []Problem, want wantProblem) bool {
	for _, problem := range problems {
		if problem.Component != want.component || problem.Field != want.field || problem.Line != want.line {
			continue
		}
		if !strings.Contains(problem.Message, want.message) {
			continue
		}
		// The message must name what it is about, for a reader without the
		// structured fields.
		if want.field != "" && !strings.Contains(problem.Message, want.field) && !strings.Contains(problem.Message, "the component") {
			continue
		}
		text := problem.Error()
		if want.component != "" && !strings.HasPrefix(text, `component "`+want.component+`": `) {
			continue
		}
		return true
	}
	return false
}

func describeProblems(problems []Problem) string {
	var b strings.Builder
	for _, problem := range problems {
		b.WriteString("  ")
		b.WriteString(problem.Field)
		b.WriteString(" | ")
		b.WriteString(problem.Error())
		b.WriteString("\n")
	}
	return b.String()
}

func TestParse_fieldMessageNamesField(t *testing.T) {
	// Field paths that include a label key are named in the message by the
	// label key rather than the full path.
	_, err := Parse([]byte(header + "    a:\n      identifier: {label: {app: \"-x\"}}\n      backup: {kind: disk, volume: data}\n"))
	parseErr, ok := errors.AsType[*Error](err)
	if !ok || len(parseErr.Problems) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	if !strings.Contains(parseErr.Problems[0].Message, `for key "app"`) {
		t.Errorf("message %q does not name the label key", parseErr.Problems[0].Message)
	}
}

func TestError_format(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "driver.styrmin.yml")
	content := header + "    files:\n      identifier:\n        label: {app: files}\n      backup:\n        kind: disk\n    db: [x]\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(path)
	if err == nil {
		t.Fatal("want an error")
	}
	want := path + `: component "files": backup.kind is "disk" but neither backup.volume nor backup.volumes is set: ` +
		"name the pod-template volume(s) to back up, otherwise nothing of this component is saved (line 12, column 9)\n" +
		path + `: component "db": the component must be a map with identifier and backup, not a list (line 13, column 9)`
	if err.Error() != want {
		t.Errorf("error text:\n%s\nwant:\n%s", err, want)
	}
	problem, ok := errors.AsType[Problem](err)
	if !ok || problem.Component != "files" || problem.Field != "backup.volumes" || problem.Line != 12 || problem.Column != 9 {
		t.Errorf("errors.As(Problem) = %+v, %v; want the files problem", problem, ok)
	}
}

func TestParseFile_missing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "nope.yml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile of a missing file = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestClosest(t *testing.T) {
	tests := map[string][]string{
		"volums":        {"volume", "volumes"},
		"Volume":        {"volume"},
		"enable":        {"enabled"},
		"backupCommand": {"backup_command"},
		"restore-cmd":   nil,
		"databse":       {"database"},
		"x":             nil,
		"":              nil,
		"timout":        {"timeout"},
		"containers":    {"container"},
	}
	for value, want := range tests {
		if got := closest(value, backupKeys); !slices.Equal(got, want) {
			t.Errorf("closest(%q) = %q, want %q", value, got, want)
		}
	}
}

package driverspec

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	apiVersion = "styrmin.io/v1"
	driverKind = "ApplicationDriver"
)

// Parse reads a driver file. It returns the driver, or an *Error listing every
// problem found, each with its line. Keys this package does not use (helm,
// parameters, services, actions, ...) are ignored, except inside a
// component's backup block, where an unknown key is an error.
func Parse(data []byte) (*Driver, error) {
	root, problem := decodeDocument(data)
	if problem != nil {
		return nil, &Error{Problems: []Problem{*problem}}
	}
	p := &parser{}
	driver := p.driver(root)
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, &Error{Problems: p.problems}
	}
	return driver, nil
}

// sortProblems orders problems by their place in the file.
func sortProblems(problems []Problem) {
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// ParseFile reads and parses the driver file at path. An *Error it returns
// has File set to path.
func ParseFile(path string) (*Driver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading driver file: %w", err)
	}
	driver, err := Parse(data)
	if parseErr, ok := errors.AsType[*Error](err); ok {
		parseErr.File = path
	}
	return driver, err
}

// parser collects problems while walking the YAML tree, so that one pass
// reports everything wrong with the file.
type parser struct {
	problems []Problem
}

func (p *parser) add(component, field string, at *yaml.Node, format string, args ...any) {
	problem := Problem{Component: component, Field: field, Message: fmt.Sprintf(format, args...)}
	if at != nil {
		problem.Line, problem.Column = at.Line, at.Column
	}
	p.problems = append(p.problems, problem)
}

func (p *parser) driver(root *yaml.Node) *Driver {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		p.add("", "", root, "the driver file must be a map with apiVersion, kind, metadata and spec, not %s", describe(root))
		return nil
	}
	top := p.mappingOf(root, "", "", "apiVersion", "kind", "metadata", "spec")
	driver := &Driver{Components: map[string]Component{}}

	// apiVersion and kind are optional, but when present they must say this
	// is a driver: it catches pointing the provider at the wrong file.
	if e, ok := top.get("apiVersion"); ok {
		if value, ok := p.text("", "apiVersion", e.value, "a string"); ok && value != apiVersion {
			p.add("", "apiVersion", e.value, "apiVersion is %q: this provider reads driver files with apiVersion %q", value, apiVersion)
		}
	}
	if e, ok := top.get("kind"); ok {
		if value, ok := p.text("", "kind", e.value, "a string"); ok && value != driverKind {
			p.add("", "kind", e.value, "kind is %q, not %q: this is not a Styrmin driver file", value, driverKind)
		}
	}

	if metadata, ok := p.section(top, root, "metadata", "set metadata: {name: my-app}", "name"); ok {
		if name, ok := p.requiredText(metadata, "name", "the driver's name, e.g. name: my-app"); ok {
			driver.Name = name
		}
	}
	spec, ok := p.section(top, root, "spec", "set spec.version and spec.components", "version", "components")
	if !ok {
		return driver
	}
	if version, ok := p.requiredText(spec, "version", `the driver's version, e.g. version: "1"`); ok {
		driver.Version = version
	}
	p.components(driver, spec)
	return driver
}

// section is a top-level map such as metadata or spec.
type section struct {
	name   string
	keyAt  *yaml.Node
	fields mapping
}

// section returns the map under key, reporting it when missing or not a map.
// used lists the keys of the section this package reads.
func (p *parser) section(top mapping, root *yaml.Node, key, hint string, used ...string) (section, bool) {
	e, ok := top.get(key)
	if !ok {
		p.add("", key, root, "%s is missing: %s", key, hint)
		return section{}, false
	}
	if e.value.Kind != yaml.MappingNode {
		p.add("", key, e.value, "%s must be a map, not %s: %s", key, describe(e.value), hint)
		return section{}, false
	}
	return section{name: key, keyAt: e.keyAt, fields: p.mappingOf(e.value, "", key, used...)}, true
}

// requiredText returns the string under section.key, reporting it when
// missing or blank.
func (p *parser) requiredText(s section, key, what string) (string, bool) {
	field := s.name + "." + key
	e, ok := s.fields.get(key)
	if !ok {
		p.add("", field, s.keyAt, "%s is missing: set %s", field, what)
		return "", false
	}
	value, ok := p.text("", field, e.value, what)
	if ok && strings.TrimSpace(value) == "" {
		p.add("", field, e.value, "%s is blank: set %s", field, what)
		return "", false
	}
	return value, ok
}

// text returns the source text of a scalar that holds a string. Numbers are
// kept as written, so version: 1.10 stays "1.10". Booleans and nulls are
// rejected: "true" or nothing where a name belongs is a mistake.
func (p *parser) text(component, field string, node *yaml.Node, what string) (string, bool) {
	if node.Kind != yaml.ScalarNode || isEmpty(node) || node.ShortTag() == "!!bool" {
		p.add(component, field, node, "%s must be %s, not %s", field, what, describe(node))
		return "", false
	}
	return node.Value, true
}

func (p *parser) components(driver *Driver, spec section) {
	const field = "spec.components"
	const hint = "declare each component under its name, with identifier.label and backup"
	e, ok := spec.fields.get("components")
	switch {
	case !ok:
		p.add("", field, spec.keyAt, "%s is missing: %s", field, hint)
		return
	case e.value.Kind == yaml.SequenceNode:
		p.add("", field, e.value, "%s must be a map keyed by component name, not a list: write \"server: {identifier: ..., backup: ...}\" instead of \"- name: server\"", field)
		return
	case e.value.Kind != yaml.MappingNode:
		p.add("", field, e.value, "%s must be a map keyed by component name, not %s: %s", field, describe(e.value), hint)
		return
	}
	entries := p.mappingOf(e.value, "", field)
	if len(entries) == 0 {
		p.add("", field, e.keyAt, "%s has no components: %s", field, hint)
		return
	}
	for _, entry := range entries {
		if component, ok := p.component(entry); ok {
			driver.Components[component.Name] = component
		}
	}
}

func (p *parser) component(e entry) (Component, bool) {
	name := e.key
	if strings.TrimSpace(name) == "" {
		p.add("", "spec.components", e.keyAt, "spec.components has a component with a blank name: give it a name")
		return Component{}, false
	}
	// The name goes into Velero hook names and into the report lines a dump prints, which are
	// split on spaces and '='.
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '=' || isControl(r) }) {
		p.add("", "spec.components", e.keyAt, "spec.components has the component name %q, which holds a space, '=' or a control character: name components with letters, digits, '-', '_' or '.'", name)
		return Component{}, false
	}
	component := Component{Name: name}
	switch {
	case isEmpty(e.value):
		// Usually an indentation slip that turned the component's settings
		// into components of their own.
		p.add(name, "", e.keyAt, "the component has no settings: indent identifier and backup under it")
		return component, true
	case e.value.Kind != yaml.MappingNode:
		p.add(name, "", e.value, "the component must be a map with identifier and backup, not %s", describe(e.value))
		return component, true
	}
	fields := p.mappingOf(e.value, name, "", "identifier", "backup")
	p.nearMisses(name, "", fields, "identifier", "backup")

	if block, ok := fields.get("backup"); ok {
		component.Backup = p.backup(name, block)
	}

	identifier, hasIdentifier := fields.get("identifier")
	var label entry
	hasLabel := false
	if hasIdentifier {
		if identifier.value.Kind == yaml.MappingNode {
			identifierFields := p.mappingOf(identifier.value, name, "identifier", "label")
			p.nearMisses(name, "identifier", identifierFields, "label")
			label, hasLabel = identifierFields.get("label")
		} else {
			p.add(name, "identifier", identifier.value, "identifier must be a map with label, not %s", describe(identifier.value))
			return component, true
		}
	}
	switch {
	case hasLabel:
		component.Selector = p.selector(name, label)
	case component.Backup.Enabled:
		at := e.keyAt
		if hasIdentifier {
			at = identifier.keyAt
		}
		p.add(name, "identifier.label", at, "identifier.label is missing: set the labels that select this component's pods (matchLabels), e.g. identifier: {label: {app.kubernetes.io/name: my-app}}")
	}
	return component, true
}

// nearMisses reports keys that look like a misspelling of a known key.
// Other unknown keys in a component are ignored (Styrmin may add its own),
// but a misspelt backup or identifier would leave the component silently
// unprotected.
func (p *parser) nearMisses(component, parent string, fields mapping, known ...string) {
	for _, f := range fields {
		if slices.Contains(known, f.key) {
			continue
		}
		if suggestions := closest(f.key, known); len(suggestions) > 0 {
			field := joinField(parent, f.key)
			p.add(component, field, f.keyAt, "%s is not a known key: %s (a misspelt key here leaves the component unprotected)", field, suggest(suggestions))
		}
	}
}

func (p *parser) selector(component string, label entry) map[string]string {
	const field = "identifier.label"
	if isEmpty(label.value) {
		p.add(component, field, label.keyAt, "%s is empty: an empty selector matches every pod in the namespace; set at least one label", field)
		return nil
	}
	if label.value.Kind != yaml.MappingNode {
		p.add(component, field, label.value, "%s must be a map of label keys to values (matchLabels), not %s", field, describe(label.value))
		return nil
	}
	labels := p.mappingOf(label.value, component, field)
	if len(labels) == 0 {
		p.add(component, field, label.keyAt, "%s is empty: an empty selector matches every pod in the namespace; set at least one label", field)
		return nil
	}
	selector := make(map[string]string, len(labels))
	for _, l := range labels {
		if errs := validation.IsQualifiedName(l.key); len(errs) > 0 {
			p.add(component, field, l.keyAt, "%s key %q is not a valid label key: %s", field, l.key, strings.Join(errs, "; "))
		}
		// Label values are strings to Kubernetes; a boolean or nothing here
		// is a mistake that kubectl would reject too.
		if l.value.Kind != yaml.ScalarNode || isEmpty(l.value) || l.value.ShortTag() == "!!bool" {
			p.add(component, field, l.value, "%s value for key %q must be a string, not %s", field, l.key, describe(l.value))
			continue
		}
		value := l.value.Value
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			p.add(component, field, l.value, "%s value %q for key %q is not a valid label value: %s", field, value, l.key, strings.Join(errs, "; "))
		}
		selector[l.key] = value
	}
	return selector
}

// backup reads a component's backup block. Problems with what is written are
// always reported; settings that are missing are only reported when the
// backup is enabled, so a disabled component can be a work in progress.
func (p *parser) backup(component string, block entry) Backup {
	if isEmpty(block.value) {
		p.add(component, "backup.kind", block.keyAt, "backup is empty: set backup.kind to one of %s, or set backup.enabled: false", kindList())
		return Backup{}
	}
	if block.value.Kind != yaml.MappingNode {
		p.add(component, "backup", block.value, "backup must be a map with enabled, kind and the kind's settings, not %s", describe(block.value))
		return Backup{}
	}
	set := map[string]entry{}
	for _, f := range p.mappingOf(block.value, component, "backup") {
		if slices.Contains(backupKeys, f.key) {
			set[f.key] = f
		} else {
			p.unknownBackupKey(component, f)
		}
	}

	// A backup block states the intent to back up; enabled: false is the
	// explicit way out.
	backup := Backup{Enabled: true}
	if f, ok := set["enabled"]; ok {
		if enabled, ok := p.boolean(component, "backup.enabled", f.value); ok {
			backup.Enabled = enabled
		}
	}

	kindKnown := false
	kindEntry, hasKind := set["kind"]
	if hasKind {
		if value, ok := p.text(component, "backup.kind", kindEntry.value, "one of "+kindList()); ok {
			if Kind(value).Valid() {
				backup.Kind, kindKnown = Kind(value), true
			} else {
				p.add(component, "backup.kind", kindEntry.value, "backup.kind %q is not a known kind: use one of %s%s", value, kindList(), didYouMean(value, kindNames(), kindAliases))
			}
		}
	} else if backup.Enabled {
		p.add(component, "backup.kind", block.keyAt, "backup.kind is missing: set it to one of %s, or set backup.enabled: false", kindList())
	}

	volumes, volumesAt := p.names(component, set, "volume", "volumes", "a volume name", volumeNameProblems)
	backup.Volumes = volumes
	if f, ok := set["container"]; ok {
		if value, ok := p.text(component, "backup.container", f.value, "a container name"); ok {
			if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
				p.add(component, "backup.container", f.value, "backup.container %q is not a valid container name: %s", value, strings.Join(errs, "; "))
			} else {
				backup.Container = value
			}
		}
	}
	databases, _ := p.names(component, set, "database", "databases", "a database name", databaseNameProblems)
	backup.Databases = databases
	if f, ok := set["backup_command"]; ok {
		backup.BackupCommand = p.command(component, f)
	}
	if f, ok := set["restore_command"]; ok {
		backup.RestoreCommand = p.command(component, f)
	}
	if f, ok := set["timeout"]; ok {
		backup.Timeout = p.timeout(component, f)
	}

	if !kindKnown {
		return backup
	}
	kind := backup.Kind
	for _, key := range backupKeys {
		if f, ok := set[key]; ok {
			if reason := notUsedBy(kind, key); reason != "" {
				p.add(component, "backup."+key, f.keyAt, "backup.%s is not used by kind %q: remove it (%s)", key, kind, reason)
			}
		}
	}
	if kind.RunsCommands() && backup.Timeout == 0 {
		backup.Timeout = DefaultTimeout
	}
	if kind.IsDatabase() && len(volumes) > 1 {
		p.add(component, "backup.volumes", volumesAt, "backup.volumes lists %d volumes, but kind %q writes its dump to exactly one volume: name only the dump volume (a copy of the database's live data directory is not a consistent backup)", len(volumes), kind)
	}
	if !backup.Enabled {
		return backup
	}
	switch {
	case kind == KindDisk && volumesMissing(set):
		p.add(component, "backup.volumes", kindEntry.keyAt, "backup.kind is %q but %s: name the pod-template volume(s) to back up, otherwise nothing of this component is saved", kind, noVolumes(set))
	case kind.IsDatabase() && volumesMissing(set):
		p.add(component, "backup.volume", kindEntry.keyAt, "backup.kind is %q but %s: name the pod-template volume the dump is written to (an emptyDir mounted in the dump container)", kind, noVolumes(set))
	}
	if kind == KindAction {
		if _, ok := set["container"]; !ok {
			p.add(component, "backup.container", kindEntry.keyAt, "backup.kind is %q but backup.container is not set: name the container the commands run in", kind)
		}
		if _, ok := set["backup_command"]; !ok {
			p.add(component, "backup.backup_command", kindEntry.keyAt, "backup.kind is %q but backup.backup_command is not set: give the command to run before the backup as a list, e.g. [/bin/sh, -c, \"...\"]", kind)
		}
	}
	return backup
}

// boolean reads true or false. YAML 1.1 spellings such as yes and on are
// rejected: YAML 1.2 readers take them as strings, so they mean different
// things to different tools.
func (p *parser) boolean(component, field string, node *yaml.Node) (value, ok bool) {
	if node.Kind == yaml.ScalarNode && node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		switch node.Value {
		case "true", "True", "TRUE":
			return true, true
		case "false", "False", "FALSE":
			return false, true
		}
	}
	p.add(component, field, node, "%s must be true or false, not %s", field, describe(node))
	return false, false
}

// volumesMissing reports whether no volume was named and no problem with a
// volume setting was already reported.
func volumesMissing(set map[string]entry) bool {
	_, hasVolume := set["volume"]
	volumes, hasVolumes := set["volumes"]
	switch {
	case !hasVolume && !hasVolumes:
		return true
	case hasVolumes && !hasVolume:
		return volumes.value.Kind == yaml.SequenceNode && len(volumes.value.Content) == 0
	}
	return false
}

func noVolumes(set map[string]entry) string {
	if _, ok := set["volumes"]; ok {
		return "backup.volumes is empty"
	}
	return "neither backup.volume nor backup.volumes is set"
}

// notUsedBy says why a backup key does not apply to kind, or returns "" when
// it does. A setting that does nothing misleads whoever reads the driver.
func notUsedBy(kind Kind, key string) string {
	switch key {
	case "container", "timeout":
		if !kind.RunsCommands() {
			return fmt.Sprintf("kind %q backs up the volumes as they are and runs no command", kind)
		}
	case "database", "databases":
		if !kind.IsDatabase() {
			return "only the database kinds postgres, mariadb, mongodb and neo4j dump databases"
		}
	case "backup_command", "restore_command":
		if kind != KindAction {
			return fmt.Sprintf("kind %q runs its own commands; use kind \"action\" for commands of your own", kind)
		}
	}
	return ""
}

// names reads a setting written either as one name (singular) or as a list
// (plural) and returns the list, and where it was written.
func (p *parser) names(component string, set map[string]entry, singular, plural, what string, check func(string) []string) ([]string, *yaml.Node) {
	one, hasOne := set[singular]
	many, hasMany := set[plural]
	singularField, pluralField := "backup."+singular, "backup."+plural
	switch {
	case hasOne && hasMany:
		second := many
		if one.keyAt.Line > many.keyAt.Line || (one.keyAt.Line == many.keyAt.Line && one.keyAt.Column > many.keyAt.Column) {
			second = one
		}
		p.add(component, "backup."+second.key, second.keyAt, "%s and %s are both set: use %s for one name or %s for a list, not both", singularField, pluralField, singular, plural)
		return nil, nil
	case hasOne:
		name, ok := p.text(component, singularField, one.value, what)
		if !ok {
			return nil, nil
		}
		if errs := check(name); len(errs) > 0 {
			p.add(component, singularField, one.value, "%s %q is not %s: %s", singularField, name, what, strings.Join(errs, "; "))
			return nil, nil
		}
		return []string{name}, one.value
	case hasMany:
		if many.value.Kind != yaml.SequenceNode {
			p.add(component, pluralField, many.value, "%s must be a list, not %s: write %s: [a, b], or %s: a for a single one", pluralField, describe(many.value), plural, singular)
			return nil, nil
		}
		var names []string
		firstLine := map[string]int{}
		for i, item := range many.value.Content {
			item = resolve(item)
			itemField := fmt.Sprintf("%s[%d]", pluralField, i)
			name, ok := p.text(component, itemField, item, what)
			if !ok {
				continue
			}
			if errs := check(name); len(errs) > 0 {
				p.add(component, itemField, item, "%s %q is not %s: %s", itemField, name, what, strings.Join(errs, "; "))
				continue
			}
			if line, duplicate := firstLine[name]; duplicate {
				p.add(component, itemField, item, "%s %q is listed twice (first on line %d): list each one once", itemField, name, line)
				continue
			}
			firstLine[name] = item.Line
			names = append(names, name)
		}
		if len(many.value.Content) == 0 && singular == "database" {
			p.add(component, pluralField, many.value, "%s is empty: list the databases to dump, or remove it to dump the kind's default", pluralField)
		}
		return names, many.value
	}
	return nil, nil
}

// volumeNameProblems checks a pod-template volume name, which Kubernetes
// requires to be a DNS-1123 label.
func volumeNameProblems(name string) []string {
	errs := validation.IsDNS1123Label(name)
	if len(errs) > 0 {
		errs = append(errs, "use the name under volumes: in the pod template, not the PVC name")
	}
	return errs
}

// databaseNameProblems rejects names that would break the dump command line.
// Anything else is left to the database, which reports a missing database
// clearly at backup time.
func databaseNameProblems(name string) []string {
	switch {
	case strings.TrimSpace(name) == "":
		return []string{"it is blank"}
	case strings.HasPrefix(name, "-"):
		return []string{"it starts with \"-\" and would be read as a command-line option"}
	case strings.ContainsFunc(name, isControl):
		return []string{"it contains a control character"}
	}
	return nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7F
}

// command reads an argv list. A single string is rejected rather than split:
// splitting would need shell quoting rules the author did not ask for.
func (p *parser) command(component string, f entry) []string {
	field := "backup." + f.key
	if f.value.Kind != yaml.SequenceNode {
		p.add(component, field, f.value, "%s must be a list of arguments (argv), not %s: to run a shell command write [/bin/sh, -c, \"...\"]", field, describe(f.value))
		return nil
	}
	if len(f.value.Content) == 0 {
		p.add(component, field, f.value, "%s is empty: give the program and its arguments, e.g. [/bin/sh, -c, \"...\"]", field)
		return nil
	}
	argv := make([]string, 0, len(f.value.Content))
	for i, item := range f.value.Content {
		item = resolve(item)
		itemField := fmt.Sprintf("%s[%d]", field, i)
		// Any scalar is an argument as written: [sh, -c, true] runs "true".
		if item.Kind != yaml.ScalarNode || isEmpty(item) {
			p.add(component, itemField, item, "%s must be a string, not %s", itemField, describe(item))
			continue
		}
		switch {
		case i == 0 && strings.TrimSpace(item.Value) == "":
			p.add(component, itemField, item, "%s is blank: the first element is the program to run", itemField)
			continue
		case strings.ContainsRune(item.Value, 0):
			p.add(component, itemField, item, "%s contains a NUL character, which no command line can carry: remove it", itemField)
			continue
		}
		argv = append(argv, item.Value)
	}
	return argv
}

func (p *parser) timeout(component string, f entry) time.Duration {
	const field = "backup.timeout"
	value, ok := p.text(component, field, f.value, `a duration such as "10m" or "1h30m"`)
	if !ok {
		return 0
	}
	timeout, err := time.ParseDuration(value)
	switch {
	case err != nil:
		p.add(component, field, f.value, "%s %q is not a duration: write a number with a unit, such as \"90s\", \"10m\" or \"1h30m\"", field, value)
		return 0
	case timeout < minTimeout || timeout > maxTimeout:
		p.add(component, field, f.value, "%s %q is out of range: it must be between %s and %s", field, value, minTimeout, maxTimeout)
		return 0
	}
	return timeout
}

func (p *parser) unknownBackupKey(component string, f entry) {
	field := "backup." + f.key
	if looksLikeCredential(f.key) {
		p.add(component, field, f.keyAt, "%s is not a backup setting: credentials never go in the driver file; the dump reads them from the container's environment (see the driver spec documentation)", field)
		return
	}
	if suggestions := closest(f.key, backupKeys); len(suggestions) > 0 {
		p.add(component, field, f.keyAt, "%s is not a backup setting: %s", field, suggest(suggestions))
		return
	}
	p.add(component, field, f.keyAt, "%s is not a backup setting: the settings are %s", field, strings.Join(backupKeys, ", "))
}

func looksLikeCredential(key string) bool {
	key = strings.ToLower(key)
	for _, word := range []string{"password", "passwd", "secret", "credential", "token", "user", "auth"} {
		if strings.Contains(key, word) {
			return true
		}
	}
	return false
}

func kindNames() []string {
	var names []string
	for _, kind := range Kinds() {
		names = append(names, string(kind))
	}
	return names
}

func kindList() string {
	return strings.Join(kindNames(), ", ")
}

// kindAliases maps names a driver author may reach for to the kind that
// covers them, where spelling distance would not find it.
var kindAliases = map[string]string{"mysql": string(KindMariaDB)}

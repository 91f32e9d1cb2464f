package driverspec

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldType is the shape of a backup setting's value.
type FieldType int

const (
	BoolField FieldType = iota
	StringField
	StringListField
)

// BackupField is one setting of a backup block. BackupFields declares them once: the parser's
// key check, the provider's schemas, their attribute types and both conversions follow from it.
// A new setting needs its entry here, its field in Backup, and its rule in the parser.
type BackupField struct {
	// Key is the setting's name in the driver file and in Terraform.
	Key string
	// Singular is the one-value spelling the driver file also takes ("volume" for "volumes");
	// Terraform and the normalised form use Key only.
	Singular string
	Type     FieldType
	// Doc describes the setting in one or two sentences, for the schemas' documentation.
	Doc string
	// value is the normalised setting: a bool, a string or a []string, by Type.
	value func(Backup) any
}

// Value is f's normalised value in b: a bool, a string ("" when unset) or a []string.
func (f BackupField) Value(b Backup) any { return f.value(b) }

var backupFields = []BackupField{
	{Key: "enabled", Type: BoolField,
		Doc:   "Whether the component is backed up. A backup block without it is enabled; no backup block means not enabled.",
		value: func(b Backup) any { return b.Enabled }},
	{Key: "kind", Type: StringField,
		Doc:   "The strategy: " + quotedKinds() + ".",
		value: func(b Backup) any { return string(b.Kind) }},
	{Key: "volumes", Singular: "volume", Type: StringListField,
		Doc:   "Pod-template volume names (not PVC names): the volumes backed up (`disk`, `action`) or the one dump volume (database kinds).",
		value: func(b Backup) any { return b.Volumes }},
	{Key: "container", Type: StringField,
		Doc:   "Container that runs the dump or the commands; empty: found from the pod spec (database kinds).",
		value: func(b Backup) any { return b.Container }},
	{Key: "databases", Singular: "database", Type: StringListField,
		Doc:   "Databases to dump; empty: the kind's default, from the container's environment.",
		value: func(b Backup) any { return b.Databases }},
	{Key: "backup_command", Type: StringListField,
		Doc:   "`action`: the command (argv) run before the volumes are backed up.",
		value: func(b Backup) any { return b.BackupCommand }},
	{Key: "restore_command", Type: StringListField,
		Doc:   "`action`: the command (argv) run after the volumes are restored.",
		value: func(b Backup) any { return b.RestoreCommand }},
	{Key: "timeout", Type: StringField,
		Doc: "Bound of each command, a Go duration; default `" + strings.TrimSuffix(DefaultTimeout.String(), "0s") +
			"` for the kinds that run commands, empty for `disk`.",
		value: func(b Backup) any {
			if b.Timeout <= 0 {
				return ""
			}
			return b.Timeout.String()
		}},
}

// BackupFields returns the settings of a backup block, in documentation order.
func BackupFields() []BackupField { return backupFields }

// backupKeys are the keys a backup block may hold in a driver file: every field's key and its
// singular spelling. Any other key is an error: a misspelt key would otherwise silently change
// what gets backed up.
var backupKeys = func() []string {
	var keys []string
	for _, f := range backupFields {
		if f.Singular != "" {
			keys = append(keys, f.Singular)
		}
		keys = append(keys, f.Key)
	}
	return keys
}()

// FieldKey maps a setting as a Problem's Field names it ("backup.volume", "backup.volumes[1]")
// to its key in BackupFields ("volumes") and the list index (-1 for none). ok is false for a
// field that is not a backup setting.
func FieldKey(field string) (key string, index int, ok bool) {
	name, found := strings.CutPrefix(field, "backup.")
	if !found {
		return "", -1, false
	}
	index = -1
	if open := strings.IndexByte(name, '['); open > 0 && strings.HasSuffix(name, "]") {
		n := 0
		for _, r := range name[open+1 : len(name)-1] {
			if r < '0' || r > '9' {
				return "", -1, false
			}
			n = n*10 + int(r-'0')
		}
		name, index = name[:open], n
	}
	for _, f := range backupFields {
		if name == f.Key || (f.Singular != "" && name == f.Singular) {
			return f.Key, index, true
		}
	}
	return "", -1, false
}

func quotedKinds() string {
	var quoted []string
	for _, k := range Kinds() {
		quoted = append(quoted, "`"+string(k)+"`")
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// ComponentInput is a component given as values rather than as YAML: the provider's
// `components` argument.
type ComponentInput struct {
	Selector map[string]string
	// Backup holds the settings that are set, by BackupField.Key: a bool, a string or a
	// []string, by the field's Type. Nil means the component has no backup block.
	Backup map[string]any
}

// ParseComponents checks components given as values with the same rules, and the same
// messages, as the driver file's; it returns them normalised, or an *Error whose problems have no
// line (Field names the setting).
func ParseComponents(inputs map[string]ComponentInput) (map[string]Component, error) {
	p := &parser{}
	components := map[string]Component{}
	for _, name := range sortedKeys(inputs) {
		if c, ok := p.component(entry{key: name, keyAt: &yaml.Node{}, value: inputs[name].node()}); ok {
			components[name] = c
		}
	}
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, &Error{Problems: p.problems}
	}
	return components, nil
}

// node builds the YAML tree the parser reads from a file, so that values and files meet one set
// of rules.
func (in ComponentInput) node() *yaml.Node {
	component := mappingNode()
	if in.Selector != nil {
		label := mappingNode()
		for _, k := range sortedKeys(in.Selector) {
			addPair(label, k, stringNode(in.Selector[k]))
		}
		identifier := mappingNode()
		addPair(identifier, "label", label)
		addPair(component, "identifier", identifier)
	}
	backup := mappingNode()
	for _, key := range sortedKeys(in.Backup) {
		switch v := in.Backup[key].(type) {
		case bool:
			tag := "false"
			if v {
				tag = "true"
			}
			addPair(backup, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: tag})
		case string:
			addPair(backup, key, stringNode(v))
		case []string:
			list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for _, s := range v {
				list.Content = append(list.Content, stringNode(s))
			}
			addPair(backup, key, list)
		}
	}
	if in.Backup != nil {
		addPair(component, "backup", backup)
	}
	return component
}

func mappingNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func stringNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
func addPair(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, stringNode(key), value)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

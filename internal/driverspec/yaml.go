package driverspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decodeDocument returns the root node of the driver file's YAML document.
// Syntax problems come back as a Problem with a line number.
func decodeDocument(data []byte) (*yaml.Node, *Problem) {
	if len(data) > maxBytes {
		return nil, &Problem{Line: 1, Message: fmt.Sprintf("the driver file is too large: %d bytes, more than the %d a driver file may have", len(data), maxBytes)}
	}
	if problem := checkCharacters(data); problem != nil {
		return nil, problem
	}
	documents, err := decodeAll(data)
	if err != nil {
		return nil, syntaxProblem(err, data)
	}
	var root *yaml.Node
	for _, document := range documents {
		// Empty documents (a stray "---") carry nothing; skip them.
		if len(document.Content) == 0 || isEmpty(document.Content[0]) {
			continue
		}
		if root != nil {
			return nil, &Problem{
				Line:    document.Content[0].Line,
				Column:  document.Content[0].Column,
				Message: "a second YAML document starts here: a driver file is one document; remove this one and the \"---\" line before it",
			}
		}
		root = document.Content[0]
	}
	if root == nil {
		return nil, &Problem{Line: 1, Message: "the driver file is empty: it needs metadata.name, spec.version and spec.components"}
	}
	if problem := checkSize(root); problem != nil {
		return nil, problem
	}
	return root, nil
}

// decodeAll decodes every YAML document in data, up to the first error.
func decodeAll(data []byte) ([]*yaml.Node, error) {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	var documents []*yaml.Node
	for {
		var document yaml.Node
		err := decodeNode(decoder, &document)
		if errors.Is(err, io.EOF) {
			return documents, nil
		}
		if err != nil {
			return documents, err
		}
		documents = append(documents, &document)
	}
}

// decodeNode turns a panic inside the YAML library into an error: the
// library has internal panics ("please report") that must not take down the
// provider.
func decodeNode(decoder *yaml.Decoder, node *yaml.Node) (err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("the YAML parser failed: %v", recovered)
		}
	}()
	return decoder.Decode(node)
}

// checkCharacters finds invalid UTF-8 and characters YAML does not allow,
// which the YAML library reports without a line number.
func checkCharacters(data []byte) *Problem {
	line, column := 1, 1
	for offset := 0; offset < len(data); {
		r, size := utf8.DecodeRune(data[offset:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Problem{Line: line, Column: column, Message: fmt.Sprintf("the driver file is not valid UTF-8 (byte 0x%02x): save it as UTF-8", data[offset])}
		case !isYAMLPrintable(r) && (r != '\uFEFF' || offset != 0):
			return &Problem{Line: line, Column: column, Message: fmt.Sprintf("the driver file contains the control character U+%04X, which YAML does not allow: remove it", r)}
		}
		if r == '\n' {
			line, column = line+1, 1
		} else {
			column++
		}
		offset += size
	}
	return nil
}

// isYAMLPrintable is the YAML 1.2 "c-printable" set.
func isYAMLPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7E:
		return true
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

var yamlErrorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// splitYAMLError separates yaml.v3's "yaml: line N: message" into its parts;
// line is 0 when the library gave none.
func splitYAMLError(err error) (line int, message string) {
	message = strings.TrimPrefix(err.Error(), "yaml: ")
	if match := yamlErrorLine.FindStringSubmatch(message); match != nil {
		line, _ = strconv.Atoi(match[1])
		message = match[2]
	}
	return line, message
}

// parserProblems are the yaml.v3 messages raised by its parser rather than
// its scanner. The library prints a 0-based line for them (1-based for
// scanner errors), and for most of them the line where the enclosing block
// starts rather than where the mistake is. Used only when
// firstFailingLine cannot find the line.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   false,
	"did not find expected <document start>": false,
	"found duplicate %YAML directive":        false,
	"found incompatible YAML document":       false,
	"found duplicate %TAG directive":         false,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
}

// syntaxHints say how to fix the syntax errors driver authors hit most.
var syntaxHints = map[string]string{
	"did not find expected key":                       "check the indentation of this line",
	"mapping values are not allowed in this context":  `quote a value that contains ": ", or check the indentation`,
	"found character that cannot start any token":     "indent with spaces, not tabs, and quote values that start with @ or `",
	"found a tab character that violates indentation": "indent with spaces, not tabs",
	"found unexpected end of stream":                  "a quote opened on this line is never closed",
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

func syntaxProblem(err error, data []byte) *Problem {
	reportedLine, message := splitYAMLError(err)
	problem := &Problem{Message: "YAML syntax error: " + message}
	if match := unknownAnchor.FindStringSubmatch(message); match != nil {
		problem.Line, problem.Column = locate(data, "*"+match[1])
		problem.Message += ": define the anchor (&" + match[1] + ") before using it"
		return problem
	}
	if line := firstFailingLine(data, message); line > 0 {
		problem.Line = line
		if hint := syntaxHints[message]; hint != "" {
			problem.Message += ": " + hint
		}
		return problem
	}
	line := reportedLine
	if inBlock, isParserProblem := parserProblems[message]; isParserProblem {
		line++
		if inBlock {
			problem.Message += "; the mistake is on this line or below it, often a wrong indentation"
		}
	}
	problem.Line = max(line, 1)
	return problem
}

// firstFailingLine finds the line of a syntax error more precisely than
// yaml.v3 reports it: the shortest run of whole lines from the top that
// already fails with the same message ends on the line with the mistake. A
// binary search keeps this to a handful of parses. It returns 0 when the
// search does not confirm a line.
func firstFailingLine(data []byte, message string) int {
	var lineEnds []int
	for offset, b := range data {
		if b == '\n' {
			lineEnds = append(lineEnds, offset+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lineEnds = append(lineEnds, len(data))
	}
	failsBy := func(line int) bool {
		_, err := decodeAll(data[:lineEnds[line-1]])
		if err == nil {
			return false
		}
		_, got := splitYAMLError(err)
		return got == message
	}
	low, high := 1, len(lineEnds)
	if high == 0 || !failsBy(high) {
		return 0
	}
	for low < high {
		middle := (low + high) / 2
		if failsBy(middle) {
			high = middle
		} else {
			low = middle + 1
		}
	}
	return low
}

// locate returns the line and column of the first occurrence of text, or
// (1, 0) when it does not occur.
func locate(data []byte, text string) (line, column int) {
	offset := bytes.Index(data, []byte(text))
	if offset < 0 {
		return 1, 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	column = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, column
}

// maxBytes bounds the size of a driver file; real ones are a few kilobytes.
const maxBytes = 1 << 20

// maxNodes bounds the work one driver file can cause. Aliases let a few
// lines stand for a huge tree ("billion laughs"); real drivers have a few
// thousand nodes.
const maxNodes = 100_000

// checkSize reports a document that is larger than maxNodes with its
// aliases expanded. An alias to a node that contains it counts once: the
// walk over the driver has a fixed depth, so such a loop is harmless.
func checkSize(root *yaml.Node) *Problem {
	sizes := map[*yaml.Node]int{}
	var size func(node *yaml.Node) int
	size = func(node *yaml.Node) int {
		node = resolve(node)
		if known, ok := sizes[node]; ok {
			return known
		}
		sizes[node] = 1 // while the node's own size is being counted
		total := 1
		for _, child := range node.Content {
			total = min(total+size(child), maxNodes+1)
		}
		sizes[node] = total
		return total
	}
	if size(root) > maxNodes {
		return &Problem{Line: root.Line, Column: root.Column, Message: fmt.Sprintf("the driver file is too large: it has more than %d YAML nodes once its aliases are expanded", maxNodes)}
	}
	return nil
}

// resolve follows an alias to the node it names, so *anchor reads like the
// anchored node itself. The YAML parser never anchors an alias, so one step
// is enough.
func resolve(node *yaml.Node) *yaml.Node {
	if node != nil && node.Kind == yaml.AliasNode && node.Alias != nil {
		return node.Alias
	}
	return node
}

// isEmpty reports whether node is a null written as nothing, "~" or "null".
func isEmpty(node *yaml.Node) bool {
	node = resolve(node)
	return node == nil || (node.Kind == yaml.ScalarNode && node.ShortTag() == "!!null")
}

// describe names what a node is, for "must be X, not Y" messages.
func describe(node *yaml.Node) string {
	node = resolve(node)
	switch {
	case node == nil || isEmpty(node):
		return "empty"
	case node.Kind == yaml.SequenceNode:
		return "a list"
	case node.Kind == yaml.MappingNode:
		return "a map"
	case node.Kind == yaml.ScalarNode && node.ShortTag() == "!!bool":
		return "the boolean " + node.Value
	case node.Kind == yaml.ScalarNode && (node.ShortTag() == "!!int" || node.ShortTag() == "!!float"):
		return "the number " + node.Value
	case node.Kind == yaml.ScalarNode:
		return fmt.Sprintf("the string %q", node.Value)
	}
	return "an alias"
}

// entry is one key/value pair of a YAML map.
type entry struct {
	key   string
	keyAt *yaml.Node // the key as written, for positions
	value *yaml.Node // aliases resolved
}

// mapping is a YAML map with merge keys (<<) expanded, in file order.
type mapping []entry

func (m mapping) get(key string) (entry, bool) {
	for _, e := range m {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// mappingOf returns the entries of a YAML map node. It reports keys that are
// not scalars, and keys that occur twice: YAML libraries disagree on which of
// two equal keys wins, so the file must not rely on it. When only is given,
// duplicates are reported for those keys alone, the ones this package reads.
func (p *parser) mappingOf(node *yaml.Node, component, field string, only ...string) mapping {
	var result mapping
	var merged []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, valueNode := node.Content[i], node.Content[i+1]
		if keyNode.Kind == yaml.ScalarNode && keyNode.ShortTag() == "!!merge" {
			merged = append(merged, valueNode)
			continue
		}
		if keyNode.Kind != yaml.ScalarNode {
			p.add(component, field, keyNode, "%s has a key that is %s: keys must be plain strings", subject(component, field), describe(keyNode))
			continue
		}
		if first, duplicate := seen[keyNode.Value]; duplicate {
			if len(only) == 0 || slices.Contains(only, keyNode.Value) {
				p.add(component, joinField(field, keyNode.Value), keyNode, "%s is set twice (first on line %d): remove one of them", joinField(field, keyNode.Value), first.Line)
			}
			continue
		}
		seen[keyNode.Value] = keyNode
		result = append(result, entry{key: keyNode.Value, keyAt: keyNode, value: resolve(valueNode)})
	}
	if len(merged) > 0 {
		m := merger{parser: p, component: component, field: field, into: &result, seen: seen, done: map[*yaml.Node]bool{node: true}}
		m.merge(merged)
	}
	return result
}

// merger expands YAML merge keys (<<). Explicit keys win over merged ones
// and, among merged maps, the first wins, as the merge key specification
// says. A map is merged once at most, which also stops anchors that merge
// themselves.
type merger struct {
	parser           *parser
	component, field string
	into             *mapping
	seen             map[string]*yaml.Node
	done             map[*yaml.Node]bool
}

func (m *merger) merge(sources []*yaml.Node) {
	for _, source := range sources {
		source = resolve(source)
		var maps []*yaml.Node
		switch source.Kind {
		case yaml.MappingNode:
			maps = []*yaml.Node{source}
		case yaml.SequenceNode:
			for _, item := range source.Content {
				maps = append(maps, resolve(item))
			}
		}
		if len(maps) == 0 {
			m.parser.add(m.component, m.field, source, "%s merges (<<) %s: a merge takes a map or a list of maps", subject(m.component, m.field), describe(source))
			continue
		}
		for _, from := range maps {
			if from.Kind != yaml.MappingNode {
				m.parser.add(m.component, m.field, from, "%s merges (<<) %s: a merge takes a map or a list of maps", subject(m.component, m.field), describe(from))
				continue
			}
			if m.done[from] {
				continue
			}
			m.done[from] = true
			var nested []*yaml.Node
			for i := 0; i+1 < len(from.Content); i += 2 {
				keyNode, valueNode := from.Content[i], from.Content[i+1]
				switch {
				case keyNode.Kind == yaml.ScalarNode && keyNode.ShortTag() == "!!merge":
					nested = append(nested, valueNode)
				case keyNode.Kind != yaml.ScalarNode:
					// Reported where that map is used directly, if it is.
				case m.seen[keyNode.Value] == nil:
					m.seen[keyNode.Value] = keyNode
					*m.into = append(*m.into, entry{key: keyNode.Value, keyAt: keyNode, value: resolve(valueNode)})
				}
			}
			m.merge(nested)
		}
	}
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// subject names what a problem is about in a message: the field, else the
// component, else the whole file.
func subject(component, field string) string {
	switch {
	case field != "":
		return field
	case component != "":
		return "the component"
	}
	return "the driver file"
}

package kubeconn

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Mask replaces redacted values in logs.
const Mask = "***"

// lastAppliedAnnotation holds a full copy of an object applied with kubectl,
// Secret data included.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Redactor masks registered secret strings in log text. Secrets can be added
// at any time (for example S3 keys read during apply) while other goroutines
// redact. The zero value is ready to use.
type Redactor struct {
	mu      sync.Mutex
	secrets map[string]struct{}
	// replacer masks every form of every secret; nil while there is nothing to redact or a
	// secret was added since it was built. Built at the first Redact after an Add: a refresh of
	// many locations adds a key per location and, unless logs are collected, never redacts.
	replacer *strings.Replacer
}

// NewRedactor returns a Redactor that already knows secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, secret := range secrets {
		r.Add(secret)
	}
	return r
}

// Add registers a secret. Redact then masks it, and also its base64 encodings
// (as it appears in Secret data and basic auth headers) and its JSON-escaped
// form. Empty strings are ignored.
func (r *Redactor) Add(secret string) {
	if secret == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.secrets[secret]; known {
		return
	}
	if r.secrets == nil {
		r.secrets = make(map[string]struct{})
	}
	r.secrets[secret] = struct{}{}
	r.replacer = nil
}

// build makes the replacer of every registered secret's forms; r.mu is held.
func (r *Redactor) build() {
	forms := make(map[string]struct{})
	for s := range r.secrets {
		for _, form := range encodedForms(s) {
			forms[form] = struct{}{}
		}
	}
	// Longest first: the replacer tries the old strings in argument order,
	// and a secret that contains another must win over it.
	ordered := slices.SortedFunc(maps.Keys(forms), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(ordered))
	for _, form := range ordered {
		pairs = append(pairs, form, Mask)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

func encodedForms(secret string) []string {
	forms := []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		// Without padding, which also catches the secret at the start of a
		// longer encoded value.
		base64.RawStdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
	if quoted, err := json.Marshal(secret); err == nil {
		forms = append(forms, string(quoted[1:len(quoted)-1]))
	}
	return forms
}

// Redact returns s with every registered secret masked. A nil Redactor
// returns s unchanged.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.Lock()
	if r.replacer == nil && len(r.secrets) > 0 {
		r.build()
	}
	replacer := r.replacer
	r.mu.Unlock()
	if replacer == nil {
		return s
	}
	return replacer.Replace(s)
}

// redactSecretData masks the values of Secret data and stringData in a JSON
// body: Secret objects, the items of a SecretList, and watch events. When
// secretsEndpoint is true the body belongs to a request or response of the
// secrets resource, so patches and lists without kind are masked too. It
// reports false when body is not JSON, leaving the caller to decide.
func redactSecretData(body []byte, secretsEndpoint bool) ([]byte, bool) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	// Numbers stay as written, so the logged body is the body that was sent.
	decoder.UseNumber()
	var document any
	if err := decoder.Decode(&document); err != nil || decoder.More() {
		return nil, false
	}
	if !maskSecretData(document, secretsEndpoint) {
		return body, true
	}
	masked, err := json.Marshal(document)
	if err != nil {
		return nil, false
	}
	return masked, true
}

// maskSecretData masks in place; secretScope says that v is (part of) a
// Secret even if it carries no kind. It reports whether it masked anything.
func maskSecretData(v any, secretScope bool) bool {
	masked := false
	switch node := v.(type) {
	case []any:
		for _, item := range node {
			masked = maskSecretData(item, secretScope) || masked
		}
	case map[string]any:
		kind, _ := node["kind"].(string)
		if secretScope || kind == "Secret" {
			masked = maskSecretFields(node) || masked
		}
		for key, child := range node {
			// Items of lists carry no kind of their own.
			childScope := key == "items" && (secretScope || kind == "SecretList")
			// A watch event wraps its object.
			childScope = childScope || (key == "object" && secretScope)
			masked = maskSecretData(child, childScope) || masked
		}
	}
	return masked
}

func maskSecretFields(object map[string]any) bool {
	masked := false
	for _, field := range []string{"data", "stringData"} {
		switch values := object[field].(type) {
		case map[string]any:
			for key := range values {
				values[key] = Mask
				masked = true
			}
		case nil:
		default:
			object[field] = Mask
			masked = true
		}
	}

	// A JSON patch operation: {"op": "add", "path": "/data/key", "value": ...}.
	if path, ok := object["path"].(string); ok {
		if _, hasValue := object["value"]; hasValue &&
			(strings.HasPrefix(path, "/data") || strings.HasPrefix(path, "/stringData") || path == "" || path == "/") {
			object["value"] = Mask
			masked = true
		}
	}

	if metadata, ok := object["metadata"].(map[string]any); ok {
		if annotations, ok := metadata["annotations"].(map[string]any); ok {
			if _, ok := annotations[lastAppliedAnnotation]; ok {
				annotations[lastAppliedAnnotation] = Mask
				masked = true
			}
		}
	}
	return masked
}

// isSecretsEndpoint reports whether u addresses the core secrets resource,
// e.g. /api/v1/namespaces/velero/secrets/cloud-credentials.
func isSecretsEndpoint(u *url.URL) bool {
	if u == nil {
		return false
	}
	return slices.Contains(strings.Split(u.Path, "/"), "secrets")
}

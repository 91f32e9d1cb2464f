package kubeconn

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestRedactor_Redact(t *testing.T) {
	t.Parallel()

	const secret = "s3-Secret/Key+123"
	redactor := NewRedactor(secret)
	redactor.Add("") // ignored

	testCases := map[string]struct {
		input, expected string
	}{
		"plain": {
			input:    "aws_secret_access_key=" + secret + "\n",
			expected: "aws_secret_access_key=***\n",
		},
		"base64": {
			input:    `{"cloud":"` + base64.StdEncoding.EncodeToString([]byte(secret)) + `"}`,
			expected: `{"cloud":"***"}`,
		},
		"base64 without padding": {
			input:    base64.RawStdEncoding.EncodeToString([]byte(secret)) + ".",
			expected: "***.",
		},
		"base64 url encoding": {
			input:    base64.URLEncoding.EncodeToString([]byte(secret)),
			expected: "***",
		},
		"several occurrences": {
			input:    secret + " and " + secret,
			expected: "*** and ***",
		},
		"nothing to redact": {
			input:    "nothing to see",
			expected: "nothing to see",
		},
	}
	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := redactor.Redact(testCase.input); got != testCase.expected {
				t.Errorf("expected %q, got %q", testCase.expected, got)
			}
		})
	}
}

func TestRedactor_jsonEscapedSecret(t *testing.T) {
	t.Parallel()

	// encoding/json writes & as \u0026 and " as \".
	redactor := NewRedactor(`p&ss"word`)
	got := redactor.Redact(`{"password":"p\u0026ss\"word"}`)
	if got != `{"password":"***"}` {
		t.Errorf("expected the JSON-escaped secret to be masked, got %s", got)
	}
}

func TestRedactor_longerSecretWins(t *testing.T) {
	t.Parallel()

	redactor := NewRedactor("abc")
	redactor.Add("abcdef")
	if got := redactor.Redact("x abcdef y abc"); got != "x *** y ***" {
		t.Errorf("expected both secrets fully masked, got %q", got)
	}
}

func TestRedactor_zeroAndNil(t *testing.T) {
	t.Parallel()

	var zero Redactor
	if got := zero.Redact("text"); got != "text" {
		t.Errorf("zero Redactor changed text: %q", got)
	}
	zero.Add("text")
	if got := zero.Redact("text"); got != Mask {
		t.Errorf("zero Redactor did not mask after Add: %q", got)
	}
	var nilRedactor *Redactor
	if got := nilRedactor.Redact("text"); got != "text" {
		t.Errorf("nil Redactor changed text: %q", got)
	}
}

func TestRedactor_concurrentUse(t *testing.T) {
	t.Parallel()

	redactor := NewRedactor()
	var wait sync.WaitGroup
	for i := range 8 {
		wait.Add(2)
		go func() {
			defer wait.Done()
			redactor.Add(fmt.Sprintf("secret-number-%d", i))
		}()
		go func() {
			defer wait.Done()
			_ = redactor.Redact("secret-number-1 secret-number-2")
		}()
	}
	wait.Wait()
	for i := range 8 {
		if got := redactor.Redact(fmt.Sprintf("secret-number-%d", i)); got != Mask {
			t.Errorf("secret %d not masked: %q", i, got)
		}
	}
}

func TestRedactSecretData(t *testing.T) {
	t.Parallel()

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secretsURL, _ := url.Parse("https://kube.example/api/v1/namespaces/velero/secrets/cloud-credentials")
	configMapsURL, _ := url.Parse("https://kube.example/api/v1/namespaces/velero/configmaps/settings")

	testCases := map[string]struct {
		url      *url.URL
		body     string
		expected string
		leaks    []string
	}{
		"secret object": {
			url: configMapsURL, // kind alone is enough
			body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c","annotations":{` +
				`"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"cloud\":\"` + b64("hidden-1") + `\"}}"}},` +
				`"data":{"cloud":"` + b64("hidden-2") + `"},"stringData":{"plain":"hidden-3"},"type":"Opaque"}`,
			expected: `{"apiVersion":"v1","data":{"cloud":"***"},"kind":"Secret","metadata":{"annotations":{` +
				`"kubectl.kubernetes.io/last-applied-configuration":"***"},"name":"c"},"stringData":{"plain":"***"},"type":"Opaque"}`,
		},
		"secret list": {
			url: configMapsURL,
			body: `{"kind":"SecretList","items":[{"metadata":{"name":"a"},"data":{"k":"` + b64("hidden-1") + `"}},` +
				`{"metadata":{"name":"b"},"data":{"k":"` + b64("hidden-2") + `"}}]}`,
			leaks: []string{b64("hidden-1"), b64("hidden-2")},
		},
		"list of mixed kinds": {
			url: configMapsURL,
			body: `{"kind":"List","items":[{"kind":"ConfigMap","data":{"k":"visible"}},` +
				`{"kind":"Secret","data":{"k":"` + b64("hidden") + `"}}]}`,
			expected: `{"items":[{"data":{"k":"visible"},"kind":"ConfigMap"},{"data":{"k":"***"},"kind":"Secret"}],"kind":"List"}`,
		},
		"watch event": {
			url:   secretsURL,
			body:  `{"type":"ADDED","object":{"metadata":{"name":"a"},"data":{"k":"` + b64("hidden") + `"}}}`,
			leaks: []string{b64("hidden")},
		},
		"strategic merge patch on the secrets endpoint": {
			url:      secretsURL,
			body:     `{"data":{"k":"` + b64("hidden") + `"}}`,
			expected: `{"data":{"k":"***"}}`,
		},
		"json patch on the secrets endpoint": {
			url: secretsURL,
			body: `[{"op":"replace","path":"/data/k","value":"` + b64("hidden-1") + `"},` +
				`{"op":"add","path":"/stringData","value":{"k":"hidden-2"}},{"op":"remove","path":"/metadata/labels/x"}]`,
			expected: `[{"op":"replace","path":"/data/k","value":"***"},` +
				`{"op":"add","path":"/stringData","value":"***"},{"op":"remove","path":"/metadata/labels/x"}]`,
		},
		"config map left as it was": {
			url:      configMapsURL,
			body:     `{"kind": "ConfigMap", "data": {"k": "visible", "n": 12345678901234567890}}`,
			expected: `{"kind": "ConfigMap", "data": {"k": "visible", "n": 12345678901234567890}}`,
		},
	}

	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			got, ok := redactSecretData([]byte(testCase.body), isSecretsEndpoint(testCase.url))
			if !ok {
				t.Fatal("expected the body to be recognised as JSON")
			}
			if testCase.expected != "" && string(got) != testCase.expected {
				t.Errorf("expected\n%s\ngot\n%s", testCase.expected, got)
			}
			for _, leak := range append(testCase.leaks, "hidden", b64("hidden")) {
				if strings.Contains(string(got), leak) {
					t.Errorf("redacted body still contains %q: %s", leak, got)
				}
			}
		})
	}
}

func TestRedactSecretData_notJSON(t *testing.T) {
	t.Parallel()

	for _, body := range []string{"kind: Secret\ndata:\n  k: x\n", `{"a":1}{"b":2}`, "\x00\x01"} {
		if _, ok := redactSecretData([]byte(body), true); ok {
			t.Errorf("expected %q not to be treated as one JSON document", body)
		}
	}
}

func TestIsSecretsEndpoint(t *testing.T) {
	t.Parallel()

	for raw, expected := range map[string]bool{
		"https://k/api/v1/namespaces/velero/secrets/creds":       true,
		"https://k/api/v1/namespaces/velero/secrets":             true,
		"https://k/api/v1/secrets?watch=true":                    true,
		"https://k/api/v1/namespaces/velero/configmaps/secrets2": false,
		"https://k/apis/velero.io/v1/namespaces/velero/backups":  false,
	} {
		u, _ := url.Parse(raw)
		if got := isSecretsEndpoint(u); got != expected {
			t.Errorf("isSecretsEndpoint(%s) = %t, expected %t", raw, got, expected)
		}
	}
}

// BenchmarkRedactorThousandKeys is a refresh of 1000 locations with keys of their own: one Add per
// location, then one Redact (a logged request). Building the replacer at each Add made this
// quadratic.
func BenchmarkRedactorThousandKeys(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("wJalrXUtnFEMI/K7MDENG/bPxRfiCY%010d", i)
	}
	for b.Loop() {
		r := &Redactor{}
		for _, key := range keys {
			r.Add(key)
		}
		if got := r.Redact("key=" + keys[999]); got != "key="+Mask {
			b.Fatalf("Redact = %q", got)
		}
	}
}

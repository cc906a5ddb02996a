package httpapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// readmeExample returns the body of the first code block in language lang
// of the README section titled heading.
func readmeExample(t *testing.T, heading, lang string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("README: got no section %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("README section %q: got no %s example", heading, lang)
	}
	return m[1]
}

const verifyingSection = "Verifying tokens in your own service"

// verifierCase is a token an outside verifier sees, and whether it must
// accept it.
type verifierCase struct {
	name   string
	token  string
	accept bool
}

// verifierCases are a real access token, which must pass, and tokens that
// must not: a real refresh token, and signed tokens that differ from a
// valid access token in one way each.
func (e *env) verifierCases(t *testing.T) []verifierCase {
	t.Helper()
	u := e.newUser(t, roleUser)
	valid := e.claims(t, u, "access")
	expired := e.claims(t, u, "access")
	expired["iat"], expired["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	future := e.claims(t, u, "access")
	future["nbf"] = time.Now().Add(time.Hour).Unix()
	wrongAud := e.claims(t, u, "access")
	wrongAud["aud"] = []string{"another-service"}
	wrongIss := e.claims(t, u, "access")
	wrongIss["iss"] = "someone-else"
	key := e.signingKey(t)
	return []verifierCase{
		{"access token", u.Access, true},
		{"signed like an access token", e.sign(t, valid, nil), true},
		{"refresh token", u.Refresh, false},
		{"JWT refresh token of the old kind", e.oldRefreshToken(t, u), false},
		{"typ JWT", e.sign(t, valid, map[string]any{"typ": "JWT"}), false},
		{"no typ", e.sign(t, valid, map[string]any{"typ": nil}), false},
		{"expired", e.sign(t, expired, nil), false},
		{"not yet valid", e.sign(t, future, nil), false},
		{"wrong aud", e.sign(t, wrongAud, nil), false},
		{"wrong iss", e.sign(t, wrongIss, nil), false},
		{"unknown kid", e.sign(t, valid, map[string]any{"kid": "not-a-key-we-know"}), false},
		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid, map[string]any{"kid": key.kid, "typ": "at+jwt"}), false},
		{"signature flipped", flipSignature(u.Access), false},
	}
}

// TestREADMEVerifiers runs the README's examples of verifying access
// tokens in another service against a live server: the Go one (kept in
// readme_verifier_test.go, which must match the README), and the Python
// one when the system's Python has PyJWT; otherwise the Python one is only
// parsed.
func TestREADMEVerifiers(t *testing.T) {
	goExample := readmeExample(t, verifyingSection, "go")
	kept, err := os.ReadFile("readme_verifier_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if _, body, _ := strings.Cut(string(kept), "package httpapi_test\n\n"); body != goExample {
		t.Errorf("readme_verifier_test.go differs from the README's Go example; copy the README's block into it")
	}
	pyExample := readmeExample(t, verifyingSection, "python")
	python := pythonWithPyJWT(t, pyExample)
	forEach(t, func(t *testing.T, e *env) {
		cases := e.verifierCases(t)
		verify, err := newVerifier(t.Context(), e.ts.URL+"/.well-known/jwks.json", e.cfg.JWTIssuer, e.cfg.JWTAudience)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			claims, err := verify(c.token)
			if (err == nil) != c.accept {
				t.Errorf("Go example, %s: got error %v, want accepted %v", c.name, err, c.accept)
			}
			if err == nil && claims["token_type"] != "access" {
				t.Errorf("Go example, %s: got claims %v, want an access token's", c.name, claims)
			}
		}
		if python != "" {
			runPythonVerifier(t, e, python, pyExample, cases)
		}
	})
}

// pythonWithPyJWT checks that the Python example parses, with any Python
// 3 on the machine, and returns a Python that has PyJWT with EdDSA
// support, or "" when there is none.
func pythonWithPyJWT(t *testing.T, example string) string {
	t.Helper()
	var candidates []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		t.Log("no python3: the README's Python example is not checked")
		return ""
	}
	cmd := exec.Command(candidates[0], "-c", "import ast, sys; ast.parse(sys.stdin.read())")
	cmd.Stdin = strings.NewReader(example)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README's Python example does not parse: %v\n%s", err, out)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import jwt, jwt.algorithms; assert jwt.algorithms.has_crypto").Run() == nil {
			return p
		}
	}
	t.Log("no python3 with PyJWT and cryptography: the README's Python example is parsed, not run")
	return ""
}

// runPythonVerifier runs the Python example against e, with its URL, on
// every case.
func runPythonVerifier(t *testing.T, e *env, python, example string, cases []verifierCase) {
	t.Helper()
	dir := t.TempDir()
	module := strings.Replace(example, `ROLEGATE = "https://auth.example.com"`, `ROLEGATE = "`+e.ts.URL+`"`, 1)
	module = strings.Replace(module, `ISSUER = AUDIENCE = "rolegate"`, `ISSUER, AUDIENCE = "`+e.cfg.JWTIssuer+`", "`+e.cfg.JWTAudience+`"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "verify.py"), []byte(module), 0o600); err != nil {
		t.Fatal(err)
	}
	runner := `import json, sys
import jwt
import verify
out = []
for token in json.load(sys.stdin):
    try:
        out.append({"ok": True, "token_type": verify.verify_access(token)["token_type"]})
    except jwt.PyJWTError as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`
	tokens := make([]string, len(cases))
	for i, c := range cases {
		tokens[i] = c.token
	}
	in, _ := json.Marshal(tokens)
	cmd := exec.Command(python, "-c", runner)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("Python example: %v\n%s", err, stderr.String())
	}
	var results []struct {
		OK        bool   `json:"ok"`
		TokenType string `json:"token_type"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("Python example: got %s (%v), want %d results", out, err, len(cases))
	}
	for i, c := range cases {
		r := results[i]
		if r.OK != c.accept || (r.OK && r.TokenType != "access") {
			t.Errorf("Python example, %s: got %+v, want accepted %v", c.name, r, c.accept)
		}
	}
}

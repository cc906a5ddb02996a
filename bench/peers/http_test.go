package peers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreeHTTP checks the HTTP check on a server that answers what its
// request says, one that gets a question wrong, and one that fails.
func TestAgreeHTTP(t *testing.T) {
	qs := []Question{
		{Role: "user", UserID: 7, Resource: "users", OwnerID: 7, Action: "read", Want: true},
		{Role: "user", UserID: 7, Resource: "users", OwnerID: 8, Action: "read", Want: false},
	}
	var reqs []Request
	for _, q := range qs {
		r, err := OPARequest(q)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	serve := func(answer func(body string) (int, string)) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != OPAPath || r.Method != http.MethodPost {
				http.NotFound(w, r)
				return
			}
			b, _ := io.ReadAll(r.Body)
			status, body := answer(string(b))
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ask := func(url string) error {
		e := HTTPEngine{Kind: KindOPA, BaseURL: url, Client: NewClient(2)}
		return e.AgreeHTTP(context.Background(), reqs, qs, 2)
	}
	right := serve(func(body string) (int, string) {
		if strings.Contains(body, `"owner_id":7`) {
			return http.StatusOK, `{"result":true}`
		}
		return http.StatusOK, `{"result":false}`
	})
	if err := ask(right); err != nil {
		t.Errorf("a server giving rolegate's answers: got %v, want agreement", err)
	}
	var d *Disagreement
	if err := ask(serve(func(string) (int, string) { return http.StatusOK, `{"result":true}` })); !errors.As(err, &d) || d.Index != 2 || !d.Got {
		t.Errorf("a server allowing everything: got %v, want a disagreement on question 2", err)
	}
	if err := ask(serve(func(string) (int, string) { return http.StatusInternalServerError, `oops` })); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("a failing server: got %v, want its status", err)
	}
	if err := ask(serve(func(string) (int, string) { return http.StatusOK, `{}` })); err == nil || errors.As(err, &d) {
		t.Errorf("a server answering no result: got %v, want an error", err)
	}
}

func TestParseAnswer(t *testing.T) {
	for _, c := range []struct {
		kind, body string
		want       bool
		ok         bool
	}{
		{KindRolegate, `{"allowed":true,"rule":["p"],"policy_version":"x"}`, true, true},
		{KindRolegate, `{"allowed":false,"rule":[]}`, false, true},
		{KindRolegate, `{"code":"token_not_valid"}`, false, false},
		{KindOPA, `{"result":false}`, false, true},
		{KindCerbos, `{"results":[{"actions":{"read":"EFFECT_ALLOW"}}]}`, true, true},
		{KindCerbos, `{"results":[{"actions":{"read":"EFFECT_DENY"}}]}`, false, true},
		{KindCerbos, `{"results":[{"actions":{"list":"EFFECT_ALLOW"}}]}`, false, false},
	} {
		got, err := ParseAnswer(c.kind, []byte(c.body), "read")
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s %s: got %v, %v, want %v (error: %v)", c.kind, c.body, got, err, c.want, !c.ok)
		}
	}
}

// TestRequestFileRoundTrip checks request files read back as written, and
// that a question about the anonymous role is asked by the administrator
// about the inactive user.
func TestRequestFileRoundTrip(t *testing.T) {
	tokens := Tokens{AdminID: "admin-token", 7: "seven-token"}
	anon, err := RolegateRequest(Question{Role: "anonymous", Resource: "users", Action: "list", HTTPUser: 97}, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if anon.Auth != "Bearer admin-token" || string(anon.Body) != `{"resource":"users","action":"list","subject":{"user_id":97}}` {
		t.Errorf("anonymous question: got %q %s", anon.Auth, anon.Body)
	}
	own, err := RolegateRequest(Question{Role: "user", UserID: 7, Resource: "users", OwnerID: 7, Action: "read", HTTPUser: 7}, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RolegateRequest(Question{Role: "user", UserID: 8, Resource: "users", Action: "read", HTTPUser: 8}, tokens); err == nil {
		t.Error("a user without a token: got no error, want one")
	}
	path := filepath.Join(t.TempDir(), "r.req")
	want := []Request{anon, own, {Method: "GET", Path: "/me/", Auth: "Bearer x"}}
	if err := WriteRequests(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequests(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Line() != want[i].Line() {
			t.Errorf("request %d: got %q, want %q", i, got[i].Line(), want[i].Line())
		}
	}
	if err := os.WriteFile(path, []byte("GET /me/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRequests(path); err == nil {
		t.Error("a line without its four fields: got no error, want one")
	}
}

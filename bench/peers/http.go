package peers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rolegate/rolegate/models"
)

// Kinds of HTTP engine: what a request looks like and how its answer reads.
const (
	KindRolegate = "rolegate" // POST /v1/authz/check with the subject's access token
	KindOPA      = "opa"      // POST OPAPath with the question as input, no authentication
	KindCerbos   = "cerbos"   // POST /api/check/resources, no authentication
)

// Request is one HTTP request of a run, as wrk's rotate.lua reads it: one a
// line, "METHOD\tPATH\tAUTHORIZATION\tBODY" (either of the last two empty).
type Request struct {
	Method, Path, Auth string
	Body               []byte
}

// Line is the request as a line of a request file.
func (r Request) Line() string {
	return r.Method + "\t" + r.Path + "\t" + r.Auth + "\t" + string(r.Body) + "\n"
}

// checkBody is a question to rolegate's decision API.
type checkBody struct {
	Resource string        `json:"resource"`
	Action   string        `json:"action"`
	OwnerID  int64         `json:"owner_id,omitempty"`
	Subject  *checkSubject `json:"subject,omitempty"`
	Tenant   string        `json:"tenant,omitempty"`
}

type checkSubject struct {
	UserID int64 `json:"user_id"`
}

// Tokens maps a user id to an access token for that user.
type Tokens map[int64]string

// RolegateRequest is q to POST /v1/authz/check, asked by its subject with
// their own token, in the tenant it names by id (rolegate reads the
// subject's groups and standing there itself); a question about the anonymous role is asked by the
// administrator AdminID about q.HTTPUser, an inactive user, whom rolegate
// decides for as anonymous.
func RolegateRequest(q Question, tokens Tokens) (Request, error) {
	asker, body := q.HTTPUser, checkBody{Resource: q.Resource, Action: q.Action, OwnerID: q.OwnerID}
	if q.Tenant != 0 {
		body.Tenant = strconv.FormatInt(q.Tenant, 10)
	}
	if q.Role == models.AnonymousRole {
		asker, body.Subject = AdminID, &checkSubject{UserID: q.HTTPUser}
	}
	tok, ok := tokens[asker]
	if !ok {
		return Request{}, fmt.Errorf("no token for user %d", asker)
	}
	b, err := json.Marshal(body)
	return Request{Method: http.MethodPost, Path: "/v1/authz/check", Auth: "Bearer " + tok, Body: b}, err
}

// OPARequest is q to OPA's data API.
func OPARequest(q Question) (Request, error) {
	b, err := json.Marshal(map[string]any{"input": NewOPAInput(q)})
	return Request{Method: http.MethodPost, Path: OPAPath, Body: b}, err
}

// CerbosHTTPRequest is q to Cerbos's CheckResources.
func CerbosHTTPRequest(q Question) (Request, error) {
	b, err := json.Marshal(CerbosRequest(q))
	return Request{Method: http.MethodPost, Path: "/api/check/resources", Body: b}, err
}

// ParseAnswer reads an engine's allowed-or-not from a response body.
func ParseAnswer(kind string, body []byte, action string) (bool, error) {
	switch kind {
	case KindRolegate:
		var r struct {
			Allowed *bool `json:"allowed"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Allowed == nil {
			return false, fmt.Errorf("rolegate answered %q", body)
		}
		return *r.Allowed, nil
	case KindOPA:
		var r struct {
			Result *bool `json:"result"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Result == nil {
			return false, fmt.Errorf("OPA answered %q", body)
		}
		return *r.Result, nil
	case KindCerbos:
		var r struct {
			Results []struct {
				Actions map[string]string `json:"actions"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Results) == 0 || r.Results[len(r.Results)-1].Actions[action] == "" {
			return false, fmt.Errorf("cerbos answered %q", body)
		}
		for _, res := range r.Results { // the tenant's read, then the question
			for _, effect := range res.Actions {
				if effect != "EFFECT_ALLOW" {
					return false, nil
				}
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown kind %q", kind)
}

// HTTPEngine asks a server the requests of a request file.
type HTTPEngine struct {
	Kind    string
	BaseURL string
	Client  *http.Client
}

// Ask sends r and reads the answer to action.
func (e HTTPEngine) Ask(ctx context.Context, r Request, action string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, e.BaseURL+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Auth != "" {
		req.Header.Set("Authorization", r.Auth)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return ParseAnswer(e.Kind, body, action)
}

// AgreeHTTP sends every request, parallel at a time, and checks each
// answer against its question's Want. It returns the disagreement or error
// of the lowest-numbered question that has one.
func (e HTTPEngine) AgreeHTTP(ctx context.Context, reqs []Request, qs []Question, parallel int) error {
	if len(reqs) != len(qs) {
		return fmt.Errorf("%d requests for %d questions", len(reqs), len(qs))
	}
	errs := make([]error, len(qs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range next {
				got, err := e.Ask(ctx, reqs[i], qs[i].Action)
				switch {
				case err != nil:
					errs[i] = fmt.Errorf("%s: question %d (%s): %w", e.Kind, i+1, qs[i], err)
				case got != qs[i].Want:
					errs[i] = &Disagreement{Engine: e.Kind + " over HTTP", Index: i + 1, Question: qs[i], Got: got}
				}
			}
		})
	}
	for i := range qs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// NewClient is an HTTP client that keeps enough idle connections for
// parallel requests.
func NewClient(parallel int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = parallel
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// WriteRequests writes a request file.
func WriteRequests(path string, reqs []Request) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, r := range reqs {
		w.WriteString(r.Line())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadRequests reads a request file.
func ReadRequests(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		parts := strings.SplitN(sc.Text(), "\t", 4)
		if len(parts) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 tab-separated fields", path, n)
		}
		out = append(out, Request{Method: parts[0], Path: parts[1], Auth: parts[2], Body: []byte(parts[3])})
	}
	return out, sc.Err()
}

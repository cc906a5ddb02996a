package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// floodKinds are the floods of issue 10, item 3, each from one attacker
// account at one client address.
var floodKinds = map[string]string{
	"wrong-old":    "wrong old_password on POST /v1/me/password",
	"login":        "correct logins to the attacker's own account",
	"failed-login": "failed logins, each for a new username (a spray)",
}

// floodConfig is one flood scenario.
type floodConfig struct {
	url, kind                string
	connections              int
	attacker, attackerPass   string
	third, thirdPass         string
	attackerAddr, thirdAddr  string
	warmup, interval         time.Duration
	probes                   int
	requestTimeout           time.Duration
	maxRequestsPerConnection int
	label                    string
	attackerAccess           string
	client                   *http.Client
}

// flood runs one flood against a running rolegate and, while it runs, logs
// a third user in every -interval, and prints one FLOOD line: the flood's
// answers by status and rate, and the third user's login latencies and
// statuses. Addresses are sent in X-Forwarded-For, so rolegate must trust
// 127.0.0.1 as a proxy (ROLEGATE_TRUSTED_PROXIES), as it would trust its
// load balancer. Every connection is to the -url given, which bench/flood.sh
// keeps on 127.0.0.1.
func flood(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	c := floodConfig{}
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "rolegate's base URL")
	fs.StringVar(&c.kind, "kind", "wrong-old", "wrong-old, login or failed-login")
	fs.IntVar(&c.connections, "connections", 400, "the flood's connections, each sending one request after another")
	fs.StringVar(&c.attacker, "attacker", "", "the flooding account")
	fs.StringVar(&c.attackerPass, "attacker-password", "", "its password")
	fs.StringVar(&c.third, "third", "", "the third user, who logs in during the flood")
	fs.StringVar(&c.thirdPass, "third-password", "", "their password")
	fs.StringVar(&c.attackerAddr, "attacker-addr", "203.0.113.9", "the flood's client address (X-Forwarded-For)")
	fs.StringVar(&c.thirdAddr, "third-addr", "198.51.100.7", "the third user's client address (X-Forwarded-For)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "how long the flood runs before the first probe")
	fs.DurationVar(&c.interval, "interval", time.Second, "time between the third user's logins")
	fs.IntVar(&c.probes, "probes", 8, "how many times the third user logs in")
	fs.DurationVar(&c.requestTimeout, "timeout", 30*time.Second, "longest wait for one answer")
	fs.IntVar(&c.maxRequestsPerConnection, "max-requests", 100000, "most requests one flood connection sends")
	fs.StringVar(&c.label, "label", "", "a name for the FLOOD line (default: the kind)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := floodKinds[c.kind]; !ok {
		return fmt.Errorf("flood: unknown -kind %q", c.kind)
	}
	if c.connections < 1 || c.connections > 5000 || c.probes < 1 || c.probes > 1000 {
		return fmt.Errorf("flood: -connections must be 1..5000 and -probes 1..1000")
	}
	if c.label == "" {
		c.label = c.kind
	}
	c.client = &http.Client{Timeout: c.requestTimeout, Transport: &http.Transport{
		MaxIdleConns: c.connections + 8, MaxIdleConnsPerHost: c.connections + 8,
	}}
	if c.kind == "wrong-old" {
		status, body, err := c.post("/v1/auth/login", "", c.attackerAddr, map[string]string{"username": c.attacker, "password": c.attackerPass})
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("flood: attacker login: status %d, %v", status, err)
		}
		var p pair
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("flood: attacker login: %w", err)
		}
		c.attackerAccess = p.Access
	}
	return c.run(stdout)
}

func (c *floodConfig) run(stdout io.Writer) error {
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		errs     int
	)
	start := time.Now()
	for range c.connections {
		wg.Go(func() {
			for range c.maxRequestsPerConnection {
				select {
				case <-stop:
					return
				default:
				}
				status, _, err := c.attack()
				mu.Lock()
				if err != nil {
					errs++
				} else {
					statuses[status]++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(c.warmup)
	var took []time.Duration
	thirdStatuses := map[int]int{}
	for i := range c.probes {
		if i > 0 {
			time.Sleep(c.interval)
		}
		t0 := time.Now()
		status, _, err := c.post("/v1/auth/login", "", c.thirdAddr, map[string]string{"username": c.third, "password": c.thirdPass})
		took = append(took, time.Since(t0))
		if err != nil {
			status = -1
		}
		thirdStatuses[status]++
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	total := errs
	for _, n := range statuses {
		total += n
	}
	samples := make([]string, len(took))
	for i, d := range took {
		samples[i] = fmt.Sprintf("%.0f", ms(d))
	}
	_, err := fmt.Fprintf(stdout, "FLOOD\t%s\t%d\t%.0f\t%s\t%s\t%s\n", c.label, c.connections,
		float64(total)/elapsed.Seconds(), countsString(statuses, errs), strings.Join(samples, ","), countsString(thirdStatuses, 0))
	return err
}

// attack sends one request of the flood.
func (c *floodConfig) attack() (int, []byte, error) {
	switch c.kind {
	case "wrong-old":
		return c.post("/v1/me/password", c.attackerAccess, c.attackerAddr,
			map[string]string{"old_password": "wrong-" + rand.Text(), "new_password": "a-new-password-" + rand.Text()})
	case "login":
		return c.post("/v1/auth/login", "", c.attackerAddr, map[string]string{"username": c.attacker, "password": c.attackerPass})
	default:
		return c.post("/v1/auth/login", "", c.attackerAddr, map[string]string{"username": "spray" + rand.Text()[:10], "password": "wrong-" + rand.Text()})
	}
}

func (c *floodConfig) post(path, token, addr string, body any) (int, []byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, c.url+path, bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, err
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// countsString renders answers by status as "200:8 503:3", sorted, with
// "err:N" for requests that got no answer.
func countsString(m map[int]int, errs int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("err:%d", errs))
	}
	return strings.Join(parts, " ")
}

// floodTable prints, for each FLOOD label in the files, the median over
// its runs of the flood's rate, the median and the worst of the third
// user's logins over all runs, and every run's answers.
func floodTable(args []string, stdout io.Writer) error {
	type runs struct {
		conns          string
		rate, took     []float64
		third, answers []string
	}
	byLabel := map[string]*runs{}
	var order []string
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), "\t")
			if len(fields) != 7 || fields[0] != "FLOOD" {
				continue
			}
			r := byLabel[fields[1]]
			if r == nil {
				r = &runs{conns: fields[2]}
				byLabel[fields[1]] = r
				order = append(order, fields[1])
			}
			rate, err := strconv.ParseFloat(fields[3], 64)
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: %q: %w", name, sc.Text(), err)
			}
			r.rate = append(r.rate, rate)
			for _, v := range strings.Split(fields[5], ",") {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					f.Close()
					return fmt.Errorf("%s: %q: %w", name, sc.Text(), err)
				}
				r.took = append(r.took, x)
			}
			r.answers = append(r.answers, fields[4])
			r.third = append(r.third, fields[6])
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "| flood | connections | runs | flood req/s (median) | third user's login: median ms | worst ms | third user's answers, per run | flood's answers, per run |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---|---|")
	for _, label := range order {
		r := byLabel[label]
		fmt.Fprintf(stdout, "| %s | %s | %d | %.0f | %.0f | %.0f | %s | %s |\n", label, r.conns, len(r.rate),
			medianFloat(r.rate), medianFloat(r.took), slices.Max(r.took), strings.Join(r.third, "; "), strings.Join(r.answers, "; "))
	}
	return nil
}

func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

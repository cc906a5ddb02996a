package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// loadConfig is one closed-loop load run: each connection sends one
// request after another for the duration.
type loadConfig struct {
	url, method, body, token, name string
	connections                    int
	duration, timeout              time.Duration
}

// load runs one scenario against a running rolegate and prints the same
// RESULT line as bench/wrk/report.lua, "RESULT <name>\t<req/s>\t<p50
// ms>\t<p99 ms>\t<errors>", for hosts without wrk. It is a Go client on
// the same machine, so it takes CPU from the server that wrk (C, epoll)
// would take less of: compare figures within one run, not with wrk's.
func load(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var c loadConfig
	fs.StringVar(&c.url, "url", "", "the request's URL")
	fs.StringVar(&c.method, "method", http.MethodGet, "the request's method")
	fs.StringVar(&c.body, "body", "", "a JSON body to send")
	fs.StringVar(&c.token, "token", "", "an access token, sent as a bearer token")
	fs.StringVar(&c.name, "name", "?", "the scenario's name in the RESULT line")
	fs.IntVar(&c.connections, "connections", 8, "connections, each sending one request after another")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "longest wait for one answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.url == "" || c.connections < 1 || c.connections > 1000 {
		return fmt.Errorf("load: -url is required, and -connections must be 1..1000")
	}
	latencies, errors, elapsed := c.run()
	if len(latencies) == 0 {
		return fmt.Errorf("load: no answer from %s", c.url)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	_, err := fmt.Fprintf(stdout, "RESULT %s\t%.1f\t%.3f\t%.3f\t%d\n", c.name,
		float64(len(latencies))/elapsed.Seconds(), pct(0.50), pct(0.99), errors)
	return err
}

// run sends requests until the duration is over, and returns the latency
// of every answer, how many were errors (no answer, or not 2xx/3xx), and
// how long it ran.
func (c loadConfig) run() ([]time.Duration, int, time.Duration) {
	client := &http.Client{Timeout: c.timeout, Transport: &http.Transport{
		MaxIdleConns: c.connections, MaxIdleConnsPerHost: c.connections, MaxConnsPerHost: c.connections,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	errors := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range c.connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				ok := c.send(client)
				mine = append(mine, time.Since(t0))
				if !ok {
					bad++
				}
			}
			mu.Lock()
			all, errors = append(all, mine...), errors+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, errors, time.Since(start)
}

// send makes one request and reports whether it got a 2xx or 3xx answer.
func (c loadConfig) send(client *http.Client) bool {
	var body io.Reader
	if c.body != "" {
		body = bytes.NewReader([]byte(c.body))
	}
	req, err := http.NewRequest(c.method, c.url, body)
	if err != nil {
		return false
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil && resp.StatusCode < 400
}

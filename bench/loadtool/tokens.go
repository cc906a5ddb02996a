package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// mintTokens logs in n times, four at a time, and writes the refresh
// tokens one a line, and the last access token to out.access.
func mintTokens(args []string) error {
	fs := flag.NewFlagSet("tokens", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "rolegate's base URL")
	username := fs.String("username", "", "who logs in")
	password := fs.String("password", "", "their password")
	n := fs.Int("n", 64, "how many logins")
	out := fs.String("out", "tokens.txt", "file for the refresh tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"username": *username, "password": *password})
	client := &http.Client{Timeout: 30 * time.Second}
	var (
		mu       sync.Mutex
		refresh  []string
		access   string
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 4)
	for range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pair, err := login(client, *url+"/v1/auth/login", body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			refresh = append(refresh, pair.Refresh)
			access = pair.Access
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := os.WriteFile(*out, []byte(strings.Join(refresh, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.WriteFile(*out+".access", []byte(access), 0o600)
}

type pair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

func login(client *http.Client, url string, body []byte) (pair, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return pair{}, err
	}
	defer resp.Body.Close()
	var p pair
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("login: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return p, fmt.Errorf("login: %w", err)
	}
	return p, nil
}

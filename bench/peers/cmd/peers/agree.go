package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/rolegate/rolegate/bench/peers"
)

// agree asks a server every question of a prepared directory.
func agree(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agree", flag.ContinueOnError)
	kind := fs.String("kind", "", "rolegate, opa or cerbos")
	url := fs.String("url", "", "the server's base URL")
	dir := fs.String("dir", "", "the directory peers prepare wrote")
	parallel := fs.Int("parallel", 8, "requests at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	qs, err := peers.ReadQuestions(filepath.Join(*dir, questionsFile))
	if err != nil {
		return err
	}
	reqs, err := peers.ReadRequests(filepath.Join(*dir, requestFile(*kind)))
	if err != nil {
		return err
	}
	e := peers.HTTPEngine{Kind: *kind, BaseURL: *url, Client: peers.NewClient(*parallel)}
	if err := e.AgreeHTTP(ctx, reqs, qs, *parallel); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s over HTTP agrees with rolegate on all %d questions\n", *kind, len(qs))
	return nil
}

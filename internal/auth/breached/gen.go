//go:build ignore

// gen.go builds breached.txt.gz from password lists, one password a line
// (plain or gzipped): every entry that is at least MinLength characters
// once normalized, normalized, deduplicated and sorted. README.md gives the
// exact sources.
//
//	go run gen.go -out breached.txt.gz LIST...
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/auth/breached"
)

func main() {
	out := flag.String("out", "breached.txt.gz", "the file to write")
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string, lists []string) error {
	if len(lists) == 0 {
		return fmt.Errorf("name at least one password list")
	}
	seen := map[string]bool{}
	for _, name := range lists {
		n, err := read(name, seen)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: %d entries of at least %d characters\n", name, n, breached.MinLength)
	}
	entries := make([]string, 0, len(seen))
	for e := range seen {
		entries = append(entries, e)
	}
	slices.Sort(entries)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	for _, e := range entries {
		w.WriteString(e)
		w.WriteByte('\n')
	}
	for _, step := range []func() error{w.Flush, zw.Close, f.Close} {
		if err := step(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %d unique entries\n", out, len(entries))
	return nil
}

// read adds the long enough entries of list to seen and returns how many
// it read.
func read(name string, seen map[string]bool) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		r = zr
	}
	n := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		e := breached.Normalize(strings.TrimRight(sc.Text(), "\r"))
		if !utf8.ValidString(e) || strings.ContainsRune(e, '\n') || utf8.RuneCountInString(e) < breached.MinLength {
			continue
		}
		seen[e] = true
		n++
	}
	return n, sc.Err()
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's generated examples")

// goldenRegion is a part of the README whose examples are generated:
// <!-- golden: NAME --> ... <!-- /golden -->.
var goldenRegion = regexp.MustCompile(`(?s)(<!-- golden: [^>]*-->\n)(.*?)(<!-- /golden -->)`)

// TestReadmeExamples runs the README's policy examples and compares what
// they print with what the README shows. Each marked region starts from a
// copy of the shipped policy files; in it, a console block's "$ rolegate
// ..." lines run through run() and their output replaces what follows
// them, "$ echo 'LINE' >> policy/FILE" appends to a file, and a diff block
// is applied, its hunk headers recomputed. With -update the README is
// rewritten instead:
//
//	go test ./cmd/rolegate -run TestReadmeExamples -update
func TestReadmeExamples(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	regions := 0
	got := goldenRegion.ReplaceAllStringFunc(string(data), func(m string) string {
		regions++
		parts := goldenRegion.FindStringSubmatch(m)
		return parts[1] + renderExamples(t, parts[2]) + parts[3]
	})
	if regions == 0 {
		t.Fatal("README.md: no <!-- golden: ... --> regions")
	}
	if got == string(data) {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("README.md: rewrote %d generated regions", regions)
		return
	}
	want, have := strings.Split(got, "\n"), strings.Split(string(data), "\n")
	for i := range min(len(want), len(have)) {
		if want[i] != have[i] {
			t.Fatalf("README.md:%d: got %q, want %q (run go test ./cmd/rolegate -run TestReadmeExamples -update)", i+1, have[i], want[i])
		}
	}
	t.Fatalf("README.md: got %d lines, want %d (run go test ./cmd/rolegate -run TestReadmeExamples -update)", len(have), len(want))
}

// renderExamples regenerates one region, on its own copy of the policy.
func renderExamples(t *testing.T, region string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"model.conf", "policy.csv", "policy_test.csv", "routes.csv"} {
		data, err := os.ReadFile(filepath.Join("../../policy", name))
		if err != nil {
			t.Fatal(err)
		}
		writeExample(t, filepath.Join(dir, "policy", name), data)
	}
	var out, block []string
	fence := ""
	for _, line := range strings.Split(strings.TrimSuffix(region, "\n"), "\n") {
		switch {
		case fence == "" && strings.HasPrefix(line, "```"):
			fence = line
			out = append(out, line)
		case fence != "" && line == "```":
			if fence == "```diff" {
				out = append(out, applyDiff(t, dir, block)...)
			} else {
				out = append(out, runConsole(t, dir, block)...)
			}
			out = append(out, line)
			fence, block = "", nil
		case fence != "":
			block = append(block, line)
		default:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

var echoLine = regexp.MustCompile(`^\$ echo '([^']*)' >> (policy/[a-z_]+\.(?:csv|conf))(?:\s+#.*)?$`)

// runConsole runs the commands of a console block, and returns them each
// followed by what it printed.
func runConsole(t *testing.T, dir string, block []string) []string {
	t.Helper()
	getenv := func(k string) string {
		return map[string]string{
			"ROLEGATE_POLICY_MODEL":  filepath.Join(dir, "policy", "model.conf"),
			"ROLEGATE_POLICY_FILE":   filepath.Join(dir, "policy", "policy.csv"),
			"ROLEGATE_POLICY_TESTS":  filepath.Join(dir, "policy", "policy_test.csv"),
			"ROLEGATE_POLICY_ROUTES": filepath.Join(dir, "policy", "routes.csv"),
			"ROLEGATE_DATABASE_URL":  "sqlite:" + filepath.Join(dir, "unused.db"),
		}[k]
	}
	var out []string
	for _, line := range block {
		if !strings.HasPrefix(line, "$ ") {
			continue // output, regenerated below
		}
		out = append(out, line)
		if m := echoLine.FindStringSubmatch(line); m != nil {
			appendLine(t, filepath.Join(dir, m[2]), m[1])
			continue
		}
		args, ok := strings.CutPrefix(line, "$ rolegate ")
		if !ok {
			t.Fatalf("README.md: %q: want $ rolegate ... or $ echo '...' >> policy/FILE", line)
		}
		var buf bytes.Buffer
		if err := run(context.Background(), strings.Fields(args), getenv, strings.NewReader(""), &buf, &buf); err != nil {
			fmt.Fprintln(&buf, "rolegate:", err) // as main prints it
		}
		out = append(out, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")...)
	}
	return out
}

var hunkHeader = regexp.MustCompile(`^@@ .* @@$`)

// applyDiff applies a one-file unified diff without context lines to the
// region's copy, and returns it with each hunk's header giving where its
// lines are now. Each hunk's removed lines must appear exactly once.
func applyDiff(t *testing.T, dir string, block []string) []string {
	t.Helper()
	if len(block) < 2 || !strings.HasPrefix(block[0], "--- a/") || !strings.HasPrefix(block[1], "+++ b/") {
		t.Fatalf("README.md: diff %q: want --- a/FILE and +++ b/FILE first", block)
	}
	file := filepath.Join(dir, strings.TrimPrefix(block[1], "+++ b/"))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	out := block[:2]
	offset := 0 // lines added minus lines removed by the hunks so far
	for rest := block[2:]; len(rest) > 0; {
		if !hunkHeader.MatchString(rest[0]) {
			t.Fatalf("README.md: diff line %q: want a hunk header", rest[0])
		}
		var removed, added []string
		n := 1
		for ; n < len(rest) && !hunkHeader.MatchString(rest[n]); n++ {
			switch rest[n][0] {
			case '-':
				removed = append(removed, rest[n][1:])
			case '+':
				added = append(added, rest[n][1:])
			default:
				t.Fatalf("README.md: diff line %q: want - or +", rest[n])
			}
		}
		at := findOnce(t, lines, removed)
		lines = append(lines[:at], append(append([]string(nil), added...), lines[at+len(removed):]...)...)
		out = append(out, fmt.Sprintf("@@ -%s +%s @@", hunkRange(at+1-offset, len(removed)), hunkRange(at+1, len(added))))
		out = append(out, rest[1:n]...)
		offset += len(added) - len(removed)
		rest = rest[n:]
	}
	writeExample(t, file, []byte(strings.Join(lines, "\n")))
	return out
}

// findOnce returns the index in lines where want starts; it must start at
// exactly one place.
func findOnce(t *testing.T, lines, want []string) int {
	t.Helper()
	at := -1
	for i := 0; i+len(want) <= len(lines); i++ {
		if strings.Join(lines[i:i+len(want)], "\n") != strings.Join(want, "\n") {
			continue
		}
		if at >= 0 {
			t.Fatalf("README.md: diff lines %q: found at lines %d and %d, want one place", want, at+1, i+1)
		}
		at = i
	}
	if at < 0 || len(want) == 0 {
		t.Fatalf("README.md: diff lines %q: not in the file", want)
	}
	return at
}

// hunkRange is a unified diff range: "61" for one line, "61,2" for more.
func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	writeExample(t, path, append(data, line+"\n"...))
}

func writeExample(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

package breached

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestShippedList(t *testing.T) {
	l, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() < 50000 {
		t.Errorf("got %d entries, want at least 50,000", l.Len())
	}
	for _, pw := range []string{"password1234", "PASSWORD1234", "qwertyuiop123", "123456789012", "1234567890123", "passwordpassword", "ｐａｓｓｗｏｒｄ１２３４"} {
		if !l.Contains(pw) {
			t.Errorf("Contains(%q): got false, want true", pw)
		}
	}
	for _, pw := range []string{"", "password", "password123", "Pw9vQx-plum-harbor-1", "correct horse battery staple", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if l.Contains(pw) {
			t.Errorf("Contains(%q): got true, want false", pw)
		}
	}
	// Every entry finds itself: the order Contains searches in is the
	// order the file is in.
	for i := range l.Len() {
		if e := l.entry(i); !l.Contains(e) {
			t.Fatalf("entry %d %q: not found by Contains", i, e)
		}
	}
}

func TestParseRefusesMalformedLists(t *testing.T) {
	for name, text := range map[string]string{
		"short":         "password12\n",
		"unsorted":      "zzzzzzzzzzzzzz\naaaaaaaaaaaaaa\n",
		"duplicate":     "aaaaaaaaaaaaaa\naaaaaaaaaaaaaa\n",
		"uppercase":     "AAAAAAAAAAAAAA\n",
		"no last break": "aaaaaaaaaaaaaa",
	} {
		if _, err := parse(text); err == nil {
			t.Errorf("%s: got a list, want an error", name)
		}
	}
}

// TestLoadCost reports what the list costs to load and keep: run with -v
// for the figures README.md and the main README quote.
func TestLoadCost(t *testing.T) {
	shared, _ := Load() // kept alive, so that freeing it does not skew the figure
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	l, err := onceList()() // a fresh load, not the one other tests share
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("load: %d entries in %v; heap kept: %.2f MiB (text %d bytes, index %d bytes)",
		l.Len(), elapsed, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), len(l.text), 4*cap(l.starts))
	runtime.KeepAlive(l)
	runtime.KeepAlive(shared)
}

func BenchmarkContains(b *testing.B) {
	l, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	probes := []string{"password1234", "Pw9vQx-plum-harbor-1", strings.Repeat("x", 64), "qwertyuiop123"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Contains(probes[i%len(probes)])
	}
}

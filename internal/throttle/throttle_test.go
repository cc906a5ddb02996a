package throttle

import "testing"

func TestBucket(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.7":                   "203.0.113.7",
		"::ffff:203.0.113.7":            "203.0.113.7",
		"2001:db8:1:2:aaaa::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"":                              "",
	} {
		if got := Bucket(ip); got != want {
			t.Errorf("Bucket(%q): got %q, want %q", ip, got, want)
		}
	}
}

func TestAccountKeyIgnoresCase(t *testing.T) {
	a, b, c := accountKey("Alice"), accountKey("alice"), accountKey("alice2")
	if a != b || a == c || len(a.Name) != 64 {
		t.Errorf("got %v, %v, %v; want Alice and alice one 64-hex-digit key, alice2 another", a, b, c)
	}
}

// TestAccountKeyJoinsLookalikes checks that respelling a username with
// lookalike letters, which logs in to the same account, counts against the
// same counter instead of earning fresh attempts.
func TestAccountKeyJoinsLookalikes(t *testing.T) {
	want := accountKey("admin")
	for _, spelling := range []string{"\u0430dmin", "\u0430dm\u0456n", "\uff41dmin", "ADM\u0399N"} {
		if got := accountKey(spelling); got != want {
			t.Errorf("accountKey(%q): got %v, want %v, the key of admin", spelling, got, want)
		}
	}
}

package throttle

import (
	"testing"

	"github.com/rolegate/rolegate/models"
)

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
	key := func(name string) models.ThrottleKey { return usernameKey(models.ThrottleLoginAccount, name) }
	a, b, c := key("Alice"), key("alice"), key("alice2")
	if a != b || a == c || len(a.Name) != 64 {
		t.Errorf("got %v, %v, %v; want Alice and alice one 64-hex-digit key, alice2 another", a, b, c)
	}
}

// TestAccountKeyJoinsLookalikes checks that respelling a username with
// lookalike letters, which logs in to the same account, counts against the
// same counter instead of earning fresh attempts.
func TestAccountKeyJoinsLookalikes(t *testing.T) {
	want := usernameKey(models.ThrottleLoginAccount, "admin")
	for _, spelling := range []string{"\u0430dmin", "\u0430dm\u0456n", "\uff41dmin", "ADM\u0399N"} {
		if got := usernameKey(models.ThrottleLoginAccount, spelling); got != want {
			t.Errorf("usernameKey(%q): got %v, want %v, the key of admin", spelling, got, want)
		}
	}
}

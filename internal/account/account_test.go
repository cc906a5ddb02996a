package account

import (
	"strings"
	"testing"
)

func TestCheckUsername(t *testing.T) {
	for name, ok := range map[string]bool{
		"john": true, "john.doe+tag@corp-1_x": true, "Zoë": true, "Дмитрий": true, "用户7": true,
		"": false, "john doe": false, "john/doe": false, "<script>": false, "a\x00b": false,
		strings.Repeat("a", 150): true, strings.Repeat("a", 151): false,
	} {
		if got := CheckUsername(NormalizeUsername(name)) == ""; got != ok {
			t.Errorf("username %q: got ok=%v, want %v", name, got, ok)
		}
	}
}

func TestUsernameKeyFoldsCaseAndCompatibilityForms(t *testing.T) {
	// The fullwidth "Ａ" is NFKC-equal to "A", as in Django.
	if UsernameKey("Ａlice") != UsernameKey("alice") || UsernameKey("ALICE") != "alice" {
		t.Errorf("got %q and %q, want both alice", UsernameKey("Ａlice"), UsernameKey("ALICE"))
	}
}

func TestCheckEmail(t *testing.T) {
	for email, ok := range map[string]bool{
		"": true, "john@example.com": true, "j.o+x@sub.example.co.uk": true,
		"john": false, "john@": false, "@example.com": false, "john@localhost": false,
		"John <john@example.com>": false, "john@@example.com": false, "john@exa mple.com": false,
		"john@example..com": false, "john@.example.com": false, strings.Repeat("a", 250) + "@x.co": false,
	} {
		if got := CheckEmail(email) == ""; got != ok {
			t.Errorf("email %q: got ok=%v, want %v", email, got, ok)
		}
	}
}

func TestCheckName(t *testing.T) {
	if CheckName("Ann-Marie O'Neil") != "" || CheckName("bad\nname") == "" || CheckName(strings.Repeat("x", 151)) == "" {
		t.Error("CheckName: got wrong verdicts")
	}
}

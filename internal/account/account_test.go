package account

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/models"
)

func TestCheckUsername(t *testing.T) {
	for name, ok := range map[string]bool{
		"john": true, "john.doe+tag@corp-1_x": true, "Zoë": true, "Дмитрий": true, "用户7": true,
		"": false, "john doe": false, "john/doe": false, "<script>": false, "a\x00b": false,
		strings.Repeat("a", 150): true, strings.Repeat("a", 151): false,
	} {
		if got := checkUsername(NormalizeUsername(name)) == ""; got != ok {
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
		if got := checkEmail(email) == ""; got != ok {
			t.Errorf("email %q: got ok=%v, want %v", email, got, ok)
		}
	}
}

func TestCheckName(t *testing.T) {
	if checkName("Ann-Marie O'Neil") != "" || checkName("bad\nname") == "" || checkName(strings.Repeat("x", 151)) == "" {
		t.Error("checkName: got wrong verdicts")
	}
}

// TestBidiControlsAreRefused covers the characters that make a name display
// as something else: U+202E shows "nimda\u202e" reversed, and the others
// reorder, isolate or break lines the same way.
func TestBidiControlsAreRefused(t *testing.T) {
	const want = "This field may not contain control or bidirectional-control characters."
	for _, r := range []rune{0x202E, 0x202A, 0x202D, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C, 0x2028, 0x2029, 0x0007} {
		name := "ad" + string(r) + "min"
		if got := checkUsername(NormalizeUsername(name)); got != want {
			t.Errorf("username with %U: got %q, want %q", r, got, want)
		}
		for _, field := range []string{"first name", "last name"} {
			if got := checkName("Ann" + string(r) + "e"); got != want {
				t.Errorf("%s with %U: got %q, want %q", field, r, got, want)
			}
		}
		if checkEmail("ann"+string(r)+"@example.com") == "" {
			t.Errorf("email with %U: got accepted, want refused", r)
		}
	}
	// A zero-width non-joiner is part of how Persian is written.
	if got := checkName("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645"); got != "" {
		t.Errorf("Persian name with ZWNJ: got %q, want it accepted", got)
	}
}

func TestUsernameSkeletonJoinsLookalikes(t *testing.T) {
	same := [][2]string{
		{"admin", "\u0430dmin"}, // Cyrillic a
		{"admin", "ADMIN"},      // case
		{"admin", "\uff41dmin"}, // fullwidth a (NFKC)
		{"paypal", "p\u0430yp\u0430l"},
		{"modern", "rnodern"},      // rn and m
		{"bill", "bi11"},           // 1 and l
		{"strasse", "Stra\u00dfe"}, // full case folding
		{"o.k", "\u03bf.k"},        // Greek omicron
	}
	for _, p := range same {
		if UsernameSkeleton(p[0]) != UsernameSkeleton(p[1]) {
			t.Errorf("%q and %q: got skeletons %q and %q, want one", p[0], p[1], UsernameSkeleton(p[0]), UsernameSkeleton(p[1]))
		}
	}
	for _, p := range [][2]string{{"admin", "admins"}, {"alice", "alicia"}, {"bob", "rob"}} {
		if UsernameSkeleton(p[0]) == UsernameSkeleton(p[1]) {
			t.Errorf("%q and %q: got one skeleton %q, want two", p[0], p[1], UsernameSkeleton(p[0]))
		}
	}
}

// TestValidate checks that Validate reports each bad attribute a patch
// sets by its field name, and leaves out what the patch does not set.
func TestValidate(t *testing.T) {
	bad := "Ann\u202e"
	blank, email := "", "nope"
	err := Validate(models.UserPatch{Username: &blank, Email: &email, FirstName: &bad, LastName: &bad})
	want := map[string][]string{
		FieldUsername:  {"This field may not be blank."},
		FieldEmail:     {"Enter a valid email address."},
		FieldFirstName: {hiddenControlMessage},
		FieldLastName:  {hiddenControlMessage},
	}
	if e, ok := err.(*models.Error); !ok || e.Code != models.EINVALID || !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("every attribute bad: got %v, want EINVALID with %v", err, want)
	}
	if err := Validate(models.UserPatch{FirstName: &bad}); !reflect.DeepEqual(models.FieldsOf(err), map[string][]string{FieldFirstName: {hiddenControlMessage}}) {
		t.Errorf("only a bad first name set: got %v, want only first_name reported", err)
	}
	if err := Validate(models.UserPatch{}); err != nil {
		t.Errorf("nothing set: got %v, want nil", err)
	}
	good := &models.User{Username: NormalizeUsername("Zoë"), Email: "zoe@example.com", FirstName: "Zoë", LastName: "Ó Sé"}
	if err := Validate(good.Patch()); err != nil {
		t.Errorf("a good account: got %v, want nil", err)
	}
}

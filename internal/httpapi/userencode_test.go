package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

// viaJSON is what c.JSON writes for v: encoding/json with HTML escaping.
func viaJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkUserEncoding(t *testing.T, users []*models.User, next *string) {
	t.Helper()
	for _, u := range users {
		if got, want := appendUser(nil, u), viaJSON(t, toJSON(u)); !bytes.Equal(got, want) {
			t.Fatalf("appendUser(%+v):\n got %s\nwant %s", u, got, want)
		}
	}
	results := make([]userJSON, len(users))
	for i, u := range users {
		results[i] = toJSON(u)
	}
	got := appendUserPage(nil, users, next)
	if want := viaJSON(t, gin.H{"results": results, "next": next}); !bytes.Equal(got, want) {
		t.Fatalf("appendUserPage:\n got %s\nwant %s", got, want)
	}
}

func TestUserEncodingMatchesJSON(t *testing.T) {
	login := time.Date(2026, 11, 23, 9, 8, 7, 120000000, time.UTC)
	strs := []string{
		"", "ann", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é日本語🙂", "bad \xff\xfe utf-8", "\xe2\x80", "line\u2028para\u2029end",
		"ends in \\", "a\u00a0b\ufeffc",
	}
	var users []*models.User
	for i, s := range strs {
		u := &models.User{ID: int64(i) * 1e12, Username: s, Email: s + "@example.com", FirstName: s, LastName: s,
			Role: "user", IsActive: i%2 == 0, PasswordHash: "$argon2id$secret", TokenEpoch: 9,
			DateJoined: time.Date(2000+i, 1, 2, 3, 4, 5, i*1000, time.UTC)}
		if i%3 == 0 {
			u.LastLogin = &login
		}
		users = append(users, u)
	}
	next := "http://example.com/v1/users?cursor=MTI&limit=2&search=%3Ca%3E"
	checkUserEncoding(t, users, &next)
	checkUserEncoding(t, users[:1], nil)
	checkUserEncoding(t, nil, nil)
	if bytes.Contains(appendUserPage(nil, users, nil), []byte("argon2id")) {
		t.Fatal("the password hash is in a listing")
	}
}

// FuzzUserEncoding holds the hand-written encoder to encoding/json's output
// for any text in any field.
func FuzzUserEncoding(f *testing.F) {
	f.Add(int64(1), "ann", "ann@example.com", "Ann", "<b>", "user", true, int64(0), int64(-1), "next")
	f.Add(int64(-7), "\xff\u2028", "\"\\", "\x00\x1f", "🙂", "", false, int64(1e18), int64(1), "")
	f.Fuzz(func(t *testing.T, id int64, username, email, first, last, role string, active bool, joined, login int64, next string) {
		u := &models.User{ID: id, Username: username, Email: email, FirstName: first, LastName: last, Role: role,
			IsActive: active, DateJoined: time.Unix(0, joined).UTC()}
		if login >= 0 {
			l := time.Unix(login%(1<<33), 0).UTC()
			u.LastLogin = &l
		}
		var np *string
		if next != "" {
			np = &next
		}
		checkUserEncoding(t, []*models.User{u, u}, np)
	})
}

package models

import (
	"slices"
	"strings"
	"testing"
)

func TestBreakGlassRequestValidate(t *testing.T) {
	ok := BreakGlassRequest{Reason: "ticket 42:\nthe customer asked", Minutes: 240, Mode: BreakGlassWrite}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid request: got %v, want nil", err)
	}
	for _, c := range []struct {
		what string
		req  BreakGlassRequest
		bad  []string
	}{
		{"blank reason", BreakGlassRequest{Reason: " \n", Minutes: 1, Mode: "read"}, []string{"reason"}},
		{"control character", BreakGlassRequest{Reason: "a\x1b[31m", Minutes: 1, Mode: "read"}, []string{"reason"}},
		{"reason too long", BreakGlassRequest{Reason: strings.Repeat("é", 501), Minutes: 1, Mode: "read"}, []string{"reason"}},
		{"zero minutes", BreakGlassRequest{Reason: "x", Minutes: 0, Mode: "read"}, []string{"minutes"}},
		{"too many minutes", BreakGlassRequest{Reason: "x", Minutes: 241, Mode: "read"}, []string{"minutes"}},
		{"unknown mode", BreakGlassRequest{Reason: "x", Minutes: 1, Mode: "admin"}, []string{"mode"}},
		{"everything", BreakGlassRequest{}, []string{"minutes", "mode", "reason"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			err := c.req.Validate()
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			var got []string
			for f := range AsError(err).Fields {
				got = append(got, f)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.bad) {
				t.Errorf("got fields %v, want %v", got, c.bad)
			}
		})
	}
	if err := (BreakGlassRequest{Reason: strings.Repeat("é", 500), Minutes: 1, Mode: "read"}).Validate(); err != nil {
		t.Errorf("a reason of 500 two-byte characters: got %v, want valid", err)
	}
}

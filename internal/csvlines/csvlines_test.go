package csvlines_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/csvlines"
)

// record renders what Read yields for one line as "N: [f1|f2]" or
// "N: error", so that a whole file compares as a list of strings.
func record(l csvlines.Line, err error) string {
	if err != nil {
		return fmt.Sprintf("%d: %v", l.N, err)
	}
	return fmt.Sprintf("%d: [%s]", l.N, strings.Join(l.Fields, "|"))
}

func readAll(data string) []string {
	var out []string
	for l, err := range csvlines.Read([]byte(data)) {
		out = append(out, record(l, err))
	}
	return out
}

func TestRead(t *testing.T) {
	const badQuote = `cannot parse line: extraneous or missing " in quoted-field`
	cases := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", nil},
		{"blank and comment lines only", "\n  \n\t\n# a\n   # b\n", nil},
		{"fields are trimmed", "  p ,a,  b  ,\tc\t\n", []string{"1: [p|a|b|c]"}},
		{"line numbers count every line", "# h\n\np, a\n\n# c\ng, b, c\n", []string{"3: [p|a]", "6: [g|b|c]"}},
		{"any number of fields", "a\na,b,c,d,e,f,g,h,i,j\n", []string{"1: [a]", "2: [a|b|c|d|e|f|g|h|i|j]"}},
		{"CRLF", "# h\r\np, a\r\n\r\ng, b\r\n", []string{"2: [p|a]", "4: [g|b]"}},
		{"last line without an end", "p, a\ng, b", []string{"1: [p|a]", "2: [g|b]"}},
		{"a lone CR is not a line end", "p, a\rg, b\n", []string{"1: [p|a\rg|b]"}},
		{"trailing comma is an empty field", "p, a, b,\n", []string{"1: [p|a|b|]"}},
		{"empty fields", "p,,a, ,\n", []string{"1: [p||a||]"}},
		{"quoted comma", `p, "a,b", c` + "\n", []string{"1: [p|a,b|c]"}},
		{"white space inside quotes is trimmed", `p, "  a b  "` + "\n", []string{"1: [p|a b]"}},
		{"doubled quote", `p, "say ""hi"""` + "\n", []string{`1: [p|say "hi"]`}},
		{"empty quoted field", `p, "", a` + "\n", []string{"1: [p||a]"}},
		{"hash inside a field", "p, a#b, \"#c\"\n", []string{"1: [p|a#b|#c]"}},
		{"a quoted hash first is no comment", "\"#p\", a\n", []string{"1: [#p|a]"}},
		{"byte order mark is kept", "\ufeffp, a\n", []string{"1: [\ufeffp|a]"}},
		{"byte order mark before a comment", "\ufeff# c\n", []string{"1: [\ufeff# c]"}},
		{"unclosed quote", "p, \"a, b\ng, c\n", []string{"1: " + badQuote, "2: [g|c]"}},
		{"text after a closing quote", `p, "a" , b` + "\n", []string{"1: " + badQuote}},
		{"quote inside an unquoted field", `p, a"b` + "\n", []string{`1: cannot parse line: bare " in non-quoted-field`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := readAll(c.data); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadRefusesAnOverlongLineAndStops(t *testing.T) {
	fits := "p, " + strings.Repeat("x", csvlines.MaxLine-4) + "\n"
	if got := readAll(fits); len(got) != 1 || !strings.HasPrefix(got[0], "1: [p|xxx") {
		t.Errorf("a line of MaxLine bytes: got %.80q, want it read", got)
	}
	data := "p, a\n" + "p, " + strings.Repeat("x", csvlines.MaxLine-3) + "\ng, b\n"
	want := []string{"1: [p|a]", "0: bufio.Scanner: token too long"}
	if got := readAll(data); !slices.Equal(got, want) {
		t.Errorf("a line of MaxLine+1 bytes: got %.80q, want %q", got, want)
	}
}

func TestReadStopsWhenTheCallerDoes(t *testing.T) {
	var got []int
	for l := range csvlines.Read([]byte("a\nb\nc\n")) {
		got = append(got, l.N)
		if l.N == 2 {
			break
		}
	}
	if !slices.Equal(got, []int{1, 2}) {
		t.Errorf("got lines %v, want [1 2]", got)
	}
}

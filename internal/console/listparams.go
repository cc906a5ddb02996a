package console

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// listSort is a list's sort order, shared by the users and tenants lists
// for their column headers.
type listSort struct{ Order string }

// Sort is the order a column's header link asks for: its field, or the
// reverse when the list is sorted by it already.
func (s listSort) Sort(field string) string {
	if s.Order == field {
		return "-" + field
	}
	return field
}

// SortMark is the column's sort state for aria-sort.
func (s listSort) SortMark(field string) string {
	switch s.Order {
	case field:
		return "ascending"
	case "-" + field:
		return "descending"
	}
	return "none"
}

// listParams reads what every console list takes, in Django's spelling:
// ?q (at most 254 characters), ?is_active and ?o (one of orders, id when
// absent). A bad value is named in problems and ignored, so that an old
// bookmark still shows a list.
func listParams(v url.Values, orders []string) (search string, active *bool, order string, problems []string) {
	search, order = strings.TrimSpace(v.Get("q")), v.Get("o")
	if len([]rune(search)) > 254 {
		problems = append(problems, "The search is longer than 254 characters and was ignored.")
		search = ""
	}
	if s := v.Get("is_active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			problems = append(problems, "is_active must be true or false and was ignored.")
		} else {
			active = &b
		}
	}
	if !slices.Contains(orders, order) {
		if order != "" {
			problems = append(problems, "Unknown sort order "+strconv.Quote(order)+"; sorted by id.")
		}
		order = "id"
	}
	return search, active, order, problems
}

// badCursor is the problem of a page cursor that does not decode.
const badCursor = "The page cursor is not valid; showing the first page."

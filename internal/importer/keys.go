package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

// Key is a Django foreign key as dumpdata writes it: the pk of the row it
// points at (4), or, exported with --natural-foreign, that row's natural
// key (["olivia"] for a user, ["support"] for a group, and ["acme"] for a
// tenant whose model defines one by slug). Real exports hold both forms.
type Key struct {
	PK      int64
	Natural string // "" when the key is a pk
	// Bad, when not "", is the key as written that is neither form.
	Bad string
}

// UnmarshalJSON reads either form. It never fails: a key of another
// shape is kept in Bad, so that it spoils only the row it is on.
func (k *Key) UnmarshalJSON(b []byte) error {
	var pk int64
	if json.Unmarshal(b, &pk) == nil {
		*k = Key{PK: pk}
		return nil
	}
	var natural []string
	if json.Unmarshal(b, &natural) == nil && len(natural) == 1 && natural[0] != "" {
		*k = Key{Natural: natural[0]}
		return nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, b) != nil {
		compact.Write(b)
	}
	*k = Key{Bad: compact.String()}
	return nil
}

// String is the key as dumpdata writes it.
func (k Key) String() string {
	switch {
	case k.Bad != "":
		return k.Bad
	case k.Natural != "":
		b, _ := json.Marshal([]string{k.Natural})
		return string(b)
	}
	return strconv.FormatInt(k.PK, 10)
}

// problem says why k cannot name a row, or "".
func (k Key) problem(field string) string {
	if k.Bad != "" {
		return fmt.Sprintf("%s: %s is neither a pk nor a natural key such as [\"name\"]", field, k.Bad)
	}
	return ""
}

// Permission is one of a Django group's permissions: its natural key
// [codename, app_label, model] or, exported without --natural-foreign,
// the pk of an auth.permission row.
type Permission struct {
	Codename, App, Model string
	PK                   int64
}

// UnmarshalJSON reads either form; any other shape leaves the codename
// holding what was written, which matches no known permission.
func (p *Permission) UnmarshalJSON(b []byte) error {
	var pk int64
	if json.Unmarshal(b, &pk) == nil {
		*p = Permission{PK: pk}
		return nil
	}
	var natural []string
	if json.Unmarshal(b, &natural) == nil && len(natural) == 3 {
		*p = Permission{Codename: natural[0], App: natural[1], Model: natural[2]}
		return nil
	}
	*p = Permission{Codename: strings.TrimSpace(string(b))}
	return nil
}

// TenantRow is a tenants.tenant entry.
type TenantRow struct {
	Ref     string
	Tenant  models.Tenant // CreatedAt is zero when the row has none
	Problem string
	entry   int
}

// MemberRow is a tenants.tenantuser entry: a user's role in a tenant.
type MemberRow struct {
	Ref       string
	Tenant    Key
	User      Key
	Role      string
	IsActive  bool
	CreatedAt time.Time
	Problem   string
	entry     int
}

// GroupRow is an auth.group entry. Its members are the users whose
// groups name it; its permissions are only printed, as suggested policy
// lines (SuggestPolicy).
type GroupRow struct {
	Ref         string
	PK          int64
	Name        string
	Permissions []Permission
	Problem     string
	entry       int
}

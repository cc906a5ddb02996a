package models

import (
	"reflect"
	"testing"
)

// TestPatchSetsEveryAttribute checks that User.Patch sets every field of
// UserPatch, so that a check of a whole user misses none, and that it
// makes a blank user into the user again.
func TestPatchSetsEveryAttribute(t *testing.T) {
	u := &User{Username: "ann", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Role: "staff", IsActive: true, PasswordHash: "h"}
	p := u.Patch()
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		if v.Field(i).IsNil() {
			t.Errorf("Patch: got %s nil, want it set", v.Type().Field(i).Name)
		}
	}
	var blank User
	p.Apply(&blank)
	if !reflect.DeepEqual(&blank, u) {
		t.Errorf("blank user with the patch applied: got %+v, want %+v", blank, *u)
	}
}

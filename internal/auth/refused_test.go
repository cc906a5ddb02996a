package auth

import (
	"errors"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// TestTokenRefused checks that the store's refusals reach clients as
// token_not_valid, a reuse still naming its user, and that other errors
// pass as they are.
func TestTokenRefused(t *testing.T) {
	cause := errors.New("expired refresh token")
	refused := &models.Error{Code: models.EUNAUTHORIZED, Message: "Refresh token refused.", Err: cause}
	got := models.AsError(tokenRefused(refused))
	if got.Reason != "token_not_valid" || got.Message != ErrTokenInvalid.Message || !errors.Is(got, cause) {
		t.Errorf("refusal: got %+v, want token_not_valid wrapping the cause", got)
	}
	reuse := &models.RefreshReusedError{UserID: 7, Err: &models.Error{Code: models.EUNAUTHORIZED, Err: models.ErrRefreshReused}}
	err := tokenRefused(reuse)
	var r *models.RefreshReusedError
	if !errors.As(err, &r) || r.UserID != 7 || !errors.Is(err, models.ErrRefreshReused) || models.AsError(err).Reason != "token_not_valid" {
		t.Errorf("reuse: got %v, want a RefreshReusedError for user 7, token_not_valid", err)
	}
	down := models.Unavailable(errors.New("down"))
	if got := tokenRefused(down); got != error(down) {
		t.Errorf("unavailable: got %v, want it unchanged", got)
	}
	if tokenRefused(nil) != nil {
		t.Error("nil: got an error, want nil")
	}
}

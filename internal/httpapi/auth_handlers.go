package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// signup creates an account. An anonymous caller gets the default role;
// asking for another role is the assign_role action, which the default
// policy refuses to anonymous callers.
func (h *handler) signup(c *gin.Context) error {
	if err := h.throttle.CheckSignup(c.Request.Context(), c.ClientIP()); err != nil {
		return err
	}
	var in signupInput
	if err := decode(c, &in); err != nil {
		return err
	}
	pol := h.policies.Current()
	f := fieldErrors{}
	patch := patchOf(f, pol, in.profileFields, accessFields{})
	if err := h.checkNewPassword(f, "password", in.Password, patch); err != nil {
		return err
	}
	if patch.Role == nil || *patch.Role == h.defaultRole {
		patch.Role = &h.defaultRole
	} else if _, err := h.authorize(c, pol, models.Resource{Type: models.ResourceUsers}, models.ActionAssignRole); err != nil {
		return err
	}
	if !pol.HasRole(h.defaultRole) {
		return models.Unavailable(errDefaultRoleUndefined(h.defaultRole))
	}
	// Every signup that gets as far as hashing counts, whether or not its
	// username turns out to be free; it counts first, so that a burst
	// cannot all pass before the counter sees it.
	if err := h.throttle.SignupAttempted(c.Request.Context(), c.ClientIP()); err != nil {
		return err
	}
	u, err := h.create(c, patch, *in.Password)
	if err != nil {
		return err
	}
	respondCreated(c, u)
	return nil
}

// checkNewPassword validates the username and password of a new account
// whose other attributes are in patch, returning every field problem in f.
func (h *handler) checkNewPassword(f fieldErrors, field string, password *string, patch models.UserPatch) error {
	required(f, map[string]*string{"username": patch.Username, field: password})
	if password != nil && *password != "" {
		f.merge(models.FieldsOf(h.auth.ValidatePassword(field, *password, newUser(patch, ""))))
	}
	return f.err()
}

// create hashes the password and stores the user: the end of signup and of
// an administrator's create.
func (h *handler) create(c *gin.Context, patch models.UserPatch, password string) (*models.User, error) {
	hash, err := h.auth.HashPassword(c.Request.Context(), auth.Requester{Account: *patch.Username, Client: hashClient(c)}, password)
	if err != nil {
		return nil, err
	}
	return h.users.CreateUser(c.Request.Context(), newUser(patch, hash))
}

// respondCreated answers a signup or a create in the seed's shape.
func respondCreated(c *gin.Context, u *models.User) {
	c.JSON(http.StatusCreated, gin.H{"message": "User created successfully", "user": toJSON(u)})
}

type loginInput struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// login answers simplejwt's TokenObtainPairView: {"access", "refresh"}.
// A username or client address past its limit of failures is refused
// before any account is read or any password hashed; each failed login
// counts against both.
func (h *handler) login(c *gin.Context) error {
	var in loginInput
	if err := decode(c, &in); err != nil {
		return err
	}
	f := fieldErrors{}
	required(f, map[string]*string{"username": in.Username, "password": in.Password})
	if in.Password != nil && len([]rune(*in.Password)) > auth.MaxPasswordLength {
		f.add("password", "Ensure this field has no more than 128 characters.")
	}
	if err := f.err(); err != nil {
		return err
	}
	u, pair, err := h.checkCredentials(c, *in.Username, *in.Password)
	h.observeLogin(err)
	if err != nil {
		h.recordLoginFailure(c, *in.Username, err)
		return err
	}
	h.recordLogin(c, u)
	c.JSON(http.StatusOK, pair)
	return nil
}

// checkCredentials logs username in unless it or the client is past its
// limit of failures, counts a failure against both, and starts the
// account's count over on success.
func (h *handler) checkCredentials(c *gin.Context, username, password string) (*models.User, auth.Pair, error) {
	ctx, ip := c.Request.Context(), c.ClientIP()
	if err := h.throttle.CheckLogin(ctx, username, ip); err != nil {
		return nil, auth.Pair{}, err
	}
	u, pair, err := h.auth.Login(ctx, username, password, hashClient(c))
	if errors.Is(err, auth.ErrBadCredentials) {
		// A failure that cannot be counted is not answered as a plain
		// failure: the guesser would get uncounted attempts.
		if terr := h.throttle.LoginFailed(ctx, username, ip); terr != nil {
			return nil, auth.Pair{}, terr
		}
	}
	if err != nil {
		return nil, auth.Pair{}, err
	}
	if err := h.throttle.LoginSucceeded(ctx, username); err != nil {
		// The user proved the password; a stale counter only delays them.
		h.log.WarnContext(ctx, "reset login throttle", "err", err)
	}
	return u, pair, nil
}

type refreshInput struct {
	Refresh *string `json:"refresh"`
}

// readRefresh reads the refresh token of a refresh or logout body.
func readRefresh(c *gin.Context) (string, error) {
	var in refreshInput
	if err := decode(c, &in); err != nil {
		return "", err
	}
	if err := requireFields(map[string]*string{"refresh": in.Refresh}); err != nil {
		return "", err
	}
	return *in.Refresh, nil
}

// refresh rotates a refresh token: the old one is spent, a new pair comes
// back. Reusing a spent token ends the whole session.
func (h *handler) refresh(c *gin.Context) error {
	token, err := readRefresh(c)
	if err != nil {
		return err
	}
	pair, err := h.auth.Refresh(c.Request.Context(), token)
	h.observeRefresh(err)
	if err != nil {
		h.recordRefreshReuse(c, err)
		return err
	}
	c.JSON(http.StatusOK, pair)
	return nil
}

// logout ends the session of a refresh token.
func (h *handler) logout(c *gin.Context) error {
	token, err := readRefresh(c)
	if err != nil {
		return err
	}
	if err := h.auth.Logout(c.Request.Context(), token); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// Page sizes of the user list.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

func errDefaultRoleUndefined(role string) error {
	return fmt.Errorf("the default role %q is not defined by the policy", role)
}

// userID parses the :id path parameter. Anything but a canonical positive
// integer is a 404, the same as an id that does not exist.
func userID(c *gin.Context) (int64, error) {
	s := c.Param("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errNotFound
	}
	return id, nil
}

func (h *handler) listUsers(c *gin.Context) error {
	if _, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceUsers}, models.ActionList); err != nil {
		return err
	}
	f, err := listFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	users, err := h.users.ListUsers(c.Request.Context(), f)
	if err != nil {
		return err
	}
	users, next := page(h.publicURL, c.Request, users, limit, func(u *models.User) string { return encodeCursor(u.ID) })
	writeUserPage(c, users, next)
	return nil
}

// listFilter reads ?limit, ?cursor, ?role, ?is_active and ?search.
func listFilter(q url.Values) (models.UserFilter, error) {
	f := models.UserFilter{Search: q.Get("search")}
	bad := fieldErrors{}
	f.Limit, f.AfterID = pageParams(q, bad)
	if q.Has("role") {
		r := q.Get("role")
		f.Role = &r
	}
	if s := q.Get("is_active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad.add("is_active", "Must be a valid boolean.")
		}
		f.IsActive = &b
	}
	if len([]rune(f.Search)) > 254 {
		bad.add("search", "Ensure this field has no more than 254 characters.")
	}
	return f, bad.err()
}

// pageParams reads the user list's paging parameters: ?limit and
// ?cursor, the id the page starts past.
func pageParams(q url.Values, bad fieldErrors) (limit int, cursor int64) {
	limit = pageLimit(q, bad)
	if s := q.Get("cursor"); s != "" {
		id, ok := decodeCursor(s)
		if !ok {
			bad.add("cursor", "Invalid cursor.")
		}
		cursor = id
	}
	return limit, cursor
}

// pageLimit reads ?limit, which every list shares: DefaultLimit when
// absent, capped at MaxLimit.
func pageLimit(q url.Values, bad fieldErrors) int {
	s := q.Get("limit")
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil || n < 1:
		bad.add("limit", "A valid integer of at least 1 is required.")
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

func encodeCursor(afterID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(afterID, 10)))
}

// decodeCursor reads a cursor encodeCursor made, and only as it made it:
// base64 decoding alone also takes other spellings of the same id ("N0"
// for "Nw", or a trailing "\r", which even strict decoding skips), and a
// cursor should name its page one way only.
func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 || encodeCursor(id) != s {
		return 0, false
	}
	return id, true
}

// page cuts items, fetched with one more than limit, to one page, and
// returns the link to the next page, whose cursor is the one of the page's
// last item, or nil when this is the last page. base is the API's public
// URL, or "" for a relative link.
func page[T any](base string, r *http.Request, items []T, limit int, cursor func(T) string) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	next := nextURL(base, r, cursor(items[limit-1]), limit)
	return items, &next
}

// nextURL is the request's own path and query with the cursor moved to
// cursor, after base. It is never built from the request's Host header or
// scheme: a client writes those, and behind a TLS proxy they are not what
// clients reach.
func nextURL(base string, r *http.Request, cursor string, limit int) string {
	q := r.URL.Query()
	q.Set("cursor", cursor)
	q.Set("limit", strconv.Itoa(limit))
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return base + u.String()
}

// createUser is an administrator creating an account. Setting a role other
// than the default, or creating it inactive, is also assign_role.
func (h *handler) createUser(c *gin.Context) error {
	pol := h.policies.Current()
	users := models.Resource{Type: models.ResourceUsers}
	d, err := h.authorize(c, pol, users, models.ActionCreate)
	if err != nil {
		return err
	}
	var in createInput
	if err := decode(c, &in); err != nil {
		return err
	}
	f := fieldErrors{}
	patch := patchOf(f, pol, in.profileFields, in.accessFields)
	if err := h.checkNewPassword(f, "password", in.Password, patch); err != nil {
		return err
	}
	if patch.Role == nil {
		patch.Role = &h.defaultRole
	}
	if patch.ChangesAccess(&models.User{Role: h.defaultRole, IsActive: true}) {
		if _, err := h.authorize(c, pol, users, models.ActionAssignRole); err != nil {
			return err
		}
	}
	u, err := h.create(c, patch, *in.Password)
	if err != nil {
		return err
	}
	h.recordAllowed(c, d, models.AuditUserCreate, userTarget(u.ID), map[string]any{"username": u.Username, "role": u.Role, "is_active": u.IsActive})
	respondCreated(c, u)
	return nil
}

func (h *handler) getUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	if _, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionRead); err != nil {
		return err
	}
	u, err := h.users.UserByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	writeUser(c, http.StatusOK, u)
	return nil
}

func (h *handler) updateUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	return h.update(c, id, "User updated")
}

// update is PUT and PATCH of one user, for /me and /v1/users/:id alike. PUT
// is partial, as the seed's was. The caller must be allowed to update the
// user; changing the role or the active flag is also assign_role, and
// changing the username is also rename. The update decision comes before
// the user is looked up, so that a caller who may not see a user cannot
// tell whether it exists. Whether the body changes the role, the flag or
// the username is decided on the row as the write locks it, never on an
// earlier read: a change that is not allowed there is 403 and nothing is
// written.
func (h *handler) update(c *gin.Context, id int64, message string) error {
	pol := h.policies.Current()
	target := models.Resource{Type: models.ResourceUsers, OwnerID: id}
	upd, err := h.authorize(c, pol, target, models.ActionUpdate)
	if err != nil {
		return err
	}
	var in updateInput
	if err := decode(c, &in); err != nil {
		return err
	}
	f := fieldErrors{}
	patch := patchOf(f, pol, in.profileFields, in.accessFields)
	if err := f.err(); err != nil {
		return err
	}
	g, err := h.grantsFor(c, pol, target, patch)
	if err != nil {
		return err
	}
	change, err := h.users.UpdateUser(c.Request.Context(), id, patch, pol.AdminGuard(), g.check)
	var denied *deniedError
	if errors.As(err, &denied) {
		h.recordDeny(c, models.Decision{PolicyVersion: denied.version}, target, denied.action)
	}
	if err != nil {
		return err
	}
	h.recordUpdate(c, upd, g.assign, change.Before, change.After)
	c.JSON(http.StatusOK, gin.H{"message": message, "user": toJSON(change.After)})
	return nil
}

// deleteUser deletes an account. The user is read first so that the
// audit trail keeps who it was after the row is gone.
func (h *handler) deleteUser(c *gin.Context) error {
	pol := h.policies.Current()
	id, err := userID(c)
	if err != nil {
		return err
	}
	d, err := h.authorize(c, pol, models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionDelete)
	if err != nil {
		return err
	}
	u, err := h.users.UserByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	if err := h.users.DeleteUser(c.Request.Context(), id, pol.AdminGuard()); err != nil {
		return err
	}
	h.recordAllowed(c, d, models.AuditUserDelete, userTarget(id), map[string]any{"username": u.Username, "role": u.Role})
	c.Status(http.StatusNoContent)
	return nil
}

type resetPasswordInput struct {
	NewPassword *string `json:"new_password"`
}

// resetPassword sets another user's password without the old one, and
// ends all of that user's sessions.
func (h *handler) resetPassword(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	d, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionResetPassword)
	if err != nil {
		return err
	}
	var in resetPasswordInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"new_password": in.NewPassword}); err != nil {
		return err
	}
	u, err := h.users.UserByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	if _, err := h.auth.SetPassword(c.Request.Context(), u, *in.NewPassword, models.AdminGuard{}, hashClient(c)); err != nil {
		return err
	}
	h.recordAllowed(c, d, models.AuditUserPasswordReset, userTarget(id), nil)
	c.JSON(http.StatusOK, gin.H{"message": "Password reset; all of the user's sessions have ended."})
	return nil
}

// area answers the seed's role areas: a greeting for whoever the policy
// lets read the area.
func (h *handler) area(resource, label string) handlerFunc {
	return func(c *gin.Context) error {
		if _, err := h.authorize(c, h.policies.Current(), models.Resource{Type: resource}, models.ActionRead); err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"message": fmt.Sprintf("Hello %s %s!", label, principal(c.Request.Context()).Username)})
		return nil
	}
}

func (h *handler) getMe(c *gin.Context) error {
	u := principal(c.Request.Context())
	if _, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceUsers, OwnerID: u.ID}, models.ActionRead); err != nil {
		return err
	}
	writeUser(c, http.StatusOK, u)
	return nil
}

func (h *handler) updateMe(c *gin.Context) error {
	return h.update(c, principal(c.Request.Context()).ID, "Profile updated")
}

type changePasswordInput struct {
	OldPassword *string `json:"old_password"`
	NewPassword *string `json:"new_password"`
}

// changePassword replaces the caller's password. Every session of the
// caller ends, including other devices; this response carries a new pair
// so the caller stays logged in. A wrong old password counts against the
// caller's failed-login limit, which is checked before any hashing, like
// a login's: a stolen access token cannot be used to guess the password
// any faster than the login route allows.
func (h *handler) changePassword(c *gin.Context) error {
	u := principal(c.Request.Context())
	d, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceUsers, OwnerID: u.ID}, models.ActionUpdate)
	if err != nil {
		return err
	}
	var in changePasswordInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"old_password": in.OldPassword, "new_password": in.NewPassword}); err != nil {
		return err
	}
	pair, err := h.replacePassword(c, u, *in.OldPassword, *in.NewPassword)
	if err != nil {
		h.recordPasswordChangeFailure(c, u, err)
		return err
	}
	h.recordAllowed(c, d, models.AuditUserPasswordChange, userTarget(u.ID), nil)
	c.JSON(http.StatusOK, gin.H{"message": "Password changed; other sessions have ended.", "access": pair.Access, "refresh": pair.Refresh})
	return nil
}

// replacePassword checks the caller's failure counters, changes the
// password, and counts a wrong old password as a failed login.
func (h *handler) replacePassword(c *gin.Context, u *models.User, oldPassword, newPassword string) (auth.Pair, error) {
	ctx, ip := c.Request.Context(), c.ClientIP()
	if err := h.throttle.CheckPasswordChange(ctx, u.Username, ip); err != nil {
		return auth.Pair{}, err
	}
	pair, err := h.auth.ChangePassword(ctx, u, oldPassword, newPassword, hashClient(c))
	if errors.Is(err, auth.ErrWrongOldPassword) {
		// Uncounted, a wrong guess must not be answered as one.
		if terr := h.throttle.LoginFailed(ctx, u.Username, ip); terr != nil {
			return auth.Pair{}, terr
		}
	}
	return pair, err
}

func (h *handler) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

// readyz is 200 only while the database answers and a policy is loaded,
// and 503 from the moment the server starts shutting down, so that load
// balancers stop sending it traffic before it stops listening. Its 503 is
// a report of the server's state, in the same shape as its 200, not an
// error: it is written here.
func (h *handler) readyz(c *gin.Context) error {
	pol := h.policies.Current()
	if h.draining() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "shutting_down", "detail": "the server is shutting down", "policy_version": pol.Version()})
		return nil
	}
	if err := h.users.Ping(c.Request.Context()); err != nil {
		h.log.Warn("readiness: database does not answer", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "detail": "database unavailable", "policy_version": pol.Version()})
		return nil
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "policy_version": pol.Version()})
	return nil
}

// jwksCacheControl lets clients and caches keep the public keys for
// auth.JWKSMaxAge, the time a rotated key is published before it signs.
var jwksCacheControl = fmt.Sprintf("public, max-age=%d", int(auth.JWKSMaxAge.Seconds()))

func (h *handler) jwks(c *gin.Context) error {
	c.Header("Cache-Control", jwksCacheControl)
	c.JSON(http.StatusOK, h.auth.JWKS())
	return nil
}

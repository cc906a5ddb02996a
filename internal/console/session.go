package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// Cookie names: with Secure, the __Host- prefix makes browsers refuse the
// cookie unless it is Secure, host-only and Path=/.
const (
	CookieName       = "rolegate_console"
	SecureCookieName = "__Host-rolegate_console"
)

// CSRFField and CSRFHeader carry the CSRF token: the hidden field of every
// form, and the header htmx sends (set by hx-headers on <body>).
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// touchEvery limits the writes that keep a session alive: its last use
// moves at most once a minute, a minute being far below the idle timeout.
const touchEvery = time.Minute

var (
	errCrossOrigin = &models.Error{Code: models.EFORBIDDEN, Message: "The request came from another site and was refused. Use the console's own forms."}
	errCSRF        = &models.Error{Code: models.EFORBIDDEN, Message: "The form's security token is missing or out of date. Go back, reload the page and try again."}
	errNoAccess    = &models.Error{Code: models.EFORBIDDEN, Message: "Your account may not use the staff console. The JSON API and your application are unaffected."}
	errNotFound    = &models.Error{Code: models.ENOTFOUND, Message: "There is no such page or record."}
	errSignedOut   = &models.Error{Code: models.EUNAUTHORIZED, Message: "You are not signed in, or your session has ended. Sign in again."}
)

// request is one console request by a signed-in viewer who may access
// the console.
type request struct {
	c       *Console
	w       http.ResponseWriter
	r       *http.Request
	viewer  *models.User
	session models.ConsoleSession
	pol     *authz.Policy
	csrf    string
}

func (c *Console) cookieName() string {
	if c.secure {
		return SecureCookieName
	}
	return CookieName
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the CSRF token of a session: an HMAC of a fixed label
// under the session's own secret, so that it is the same on every page of
// the session and worthless in any other.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("rolegate console csrf v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// page wraps a handler that needs a signed-in viewer with console access,
// and, for a POST, a valid CSRF token. An Authorization header is never
// read: a bearer token is not a console session.
func (c *Console) page(fn func(*request) error) http.Handler { return c.wrap(fn, true) }

// sessionOnly is page without the console access check: signing out
// works for anyone signed in, the regular user shown the 403 page too.
func (c *Console) sessionOnly(fn func(*request) error) http.Handler { return c.wrap(fn, false) }

func (c *Console) wrap(fn func(*request) error, needAccess bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := c.signedIn(w, r, needAccess)
		if err != nil {
			if errors.Is(err, errSignedOut) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				c.clearCookie(w)
				http.Redirect(w, r, loginURL(r.URL), http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, req, err)
			return
		}
		if err := fn(req); err != nil {
			c.errorPage(w, r, req, err)
		}
	})
}

// loginURL is the login page, with the page asked for to come back to.
func loginURL(u *url.URL) string {
	if u.Path == "/console/" || u.Path == "/console/logout" {
		return "/console/login"
	}
	return "/console/login?next=" + url.QueryEscape(u.RequestURI())
}

// signedIn finds the request's session, checks it, its user and the
// policy's console access, and for a POST the CSRF token. Its request is
// nil while there is no valid session, and set once there is, even when
// it then refuses.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request, needAccess bool) (*request, error) {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, errSignedOut
	}
	ctx, now := r.Context(), c.now()
	idHash := hashID(ck.Value)
	s, err := c.sessions.ConsoleSession(ctx, idHash)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, err
	}
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(c.idle)) {
		return nil, errSignedOut
	}
	u, err := c.users.CurrentUser(ctx, s.UserID)
	if models.ErrorCode(err) == models.ENOTFOUND || err == nil && !u.IsActive {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, err
	}
	req := &request{c: c, w: w, r: r, viewer: u, session: s, pol: c.policies.Current(), csrf: csrfToken(s.CSRFSecret)}
	if r.Method == http.MethodPost && !req.validCSRF() {
		return req, errCSRF
	}
	if needAccess {
		if err := req.authorize(models.Resource{Type: models.ResourceConsole}, models.ActionAccess); err != nil {
			if models.ErrorCode(err) == models.EFORBIDDEN {
				return req, errNoAccess
			}
			return req, err
		}
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		if err := c.sessions.TouchConsoleSession(ctx, idHash, now); err != nil {
			return req, err
		}
	}
	return req, nil
}

func (q *request) validCSRF() bool {
	got := q.r.Header.Get(CSRFHeader)
	if got == "" {
		got = q.r.PostFormValue(CSRFField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(q.csrf))
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
}

type loginView struct {
	Next     string
	Username string
	Error    string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", nil, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a next page only when it is a console path, so that the
// login form cannot send anyone elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	return next
}

// login signs a user in through the API's own login: the same throttles,
// hashing slots, rehashing and audit events. The refresh-token session the
// auth service starts is ended at once; the console keeps its own.
// Whether the user may use the console is decided on each page, so a
// regular user who signs in gets the 403 page, not a hint at login.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	view := loginView{Next: safeNext(r.PostFormValue("next")), Username: username}
	if username == "" || password == "" || len([]rune(password)) > auth.MaxPasswordLength {
		view.Error = "Enter your username and password."
		c.render(w, r, http.StatusBadRequest, "login", nil, view)
		return
	}
	u, err := c.checkCredentials(r, username, password)
	if err != nil {
		c.recordLoginFailure(r, username, err)
		switch models.ErrorCode(err) {
		case models.ETHROTTLED:
			view.Error = "Too many attempts; wait a while and try again."
			c.render(w, r, http.StatusTooManyRequests, "login", nil, view)
		case models.EUNAUTHORIZED:
			view.Error = "The username or password is wrong, or the account is inactive."
			c.render(w, r, http.StatusUnauthorized, "login", nil, view)
		default:
			c.errorPage(w, r, nil, err)
		}
		return
	}
	c.recordLogin(r, u)
	// A sign-in replaces the browser's previous session, if any: the old
	// cookie's session ends rather than lingering until its timeout.
	if old, err := r.Cookie(c.cookieName()); err == nil && old.Value != "" && len(old.Value) <= 128 {
		if err := c.sessions.RevokeConsoleSession(r.Context(), hashID(old.Value), c.now()); err != nil {
			c.log.WarnContext(r.Context(), "end the replaced console session", "err", err)
		}
	}
	id, secret := rand.Text()+rand.Text(), hex.EncodeToString(randomBytes())
	now := c.now().UTC()
	s := models.ConsoleSession{IDHash: hashID(id), UserID: u.ID, CSRFSecret: secret, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(c.max)}
	if err := c.sessions.CreateConsoleSession(r.Context(), s); err != nil {
		c.errorPage(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(), Value: id, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteStrictMode, Expires: s.ExpiresAt,
	})
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

func randomBytes() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// checkCredentials is httpapi's checkCredentials: the throttle first,
// every failure counted, the account's count cleared on success.
func (c *Console) checkCredentials(r *http.Request, username, password string) (*models.User, error) {
	ctx, ip := r.Context(), clientOf(r)
	if err := c.throttle.CheckLogin(ctx, username, ip); err != nil {
		return nil, err
	}
	u, pair, err := c.auth.Login(ctx, username, password, hashBucket(ip))
	if errors.Is(err, auth.ErrBadCredentials) {
		if terr := c.throttle.LoginFailed(ctx, username, ip); terr != nil {
			return nil, terr
		}
	}
	if err != nil {
		return nil, err
	}
	if err := c.throttle.LoginSucceeded(ctx, username); err != nil {
		c.log.WarnContext(ctx, "reset login throttle", "err", err)
	}
	if err := c.auth.Logout(ctx, pair.Refresh); err != nil {
		c.log.WarnContext(ctx, "end the API session of a console login", "err", err)
	}
	return u, nil
}

// logout ends the viewer's session.
func (c *Console) logout(q *request) error {
	if err := c.sessions.RevokeConsoleSession(q.r.Context(), q.session.IDHash, c.now()); err != nil {
		return err
	}
	c.clearCookie(q.w)
	http.Redirect(q.w, q.r, "/console/login", http.StatusSeeOther)
	return nil
}

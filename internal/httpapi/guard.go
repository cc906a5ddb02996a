package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/throttle"
)

// trustProxies makes c.ClientIP() the client's address: the TCP peer's,
// unless the peer is one of proxies, in which case the rightmost address
// of X-Forwarded-For that is not a trusted proxy. Only X-Forwarded-For is
// read (not X-Real-IP or platform headers). The login and signup limits
// and the audit trail count by this address, so trusting a header a client
// can write would let it pick a fresh counter for every request.
func (h *handler) trustProxies(r *gin.Engine, proxies []string) {
	r.TrustedPlatform = ""
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.ForwardedByClientIP = len(proxies) > 0
	if err := r.SetTrustedProxies(proxies); err != nil {
		// config.Validate refuses bad entries; should one get here, trust
		// no proxy rather than some.
		h.log.Error("bad trusted proxies; trusting none", "err", err)
		r.ForwardedByClientIP = false
		r.SetTrustedProxies(nil)
	}
}

// hashClient is the client address by which the hashing slots are shared:
// the throttle's bucket of it, so that an IPv6 client's whole /64 takes
// one turn, as it has one counter.
func hashClient(c *gin.Context) string { return throttle.Bucket(c.ClientIP()) }

func originSet(origins []string) map[string]bool {
	set := make(map[string]bool, len(origins))
	for _, o := range origins {
		if o != "*" && o != "null" { // refused by config.Validate too
			set[o] = true
		}
	}
	return set
}

// CORS answers. Tokens travel in the Authorization header, never in
// cookies, so credentials are not allowed.
const (
	corsMethods       = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders       = "Authorization, Content-Type, X-Request-ID"
	corsExposeHeaders = "X-Request-ID, X-Policy-Version, Retry-After, WWW-Authenticate"
	corsMaxAge        = "600"
)

// allowCORS lets the configured origins, and only them, call the API from
// a browser: an allowed Origin is echoed with Vary: Origin, and its
// preflight is answered 204 here. Any other origin gets no CORS header, so
// the browser keeps the response from the page. With no origins
// configured, CORS is off.
func (h *handler) allowCORS(c *gin.Context) {
	if len(h.cors) == 0 {
		c.Next()
		return
	}
	hd := c.Writer.Header()
	// The answer depends on Origin for every request, allowed or not, so
	// that no cache serves one origin's answer to another.
	hd.Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	if !h.cors[origin] {
		c.Next()
		return
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		hd.Add("Vary", "Access-Control-Request-Method")
		hd.Add("Vary", "Access-Control-Request-Headers")
		hd.Set("Access-Control-Allow-Methods", corsMethods)
		hd.Set("Access-Control-Allow-Headers", corsHeaders)
		hd.Set("Access-Control-Max-Age", corsMaxAge)
		hd.Del("Content-Type")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	c.Next()
}

// noThrottle is the throttle of an API built without one.
type noThrottle struct{}

func (noThrottle) CheckLogin(context.Context, string, string) error  { return nil }
func (noThrottle) LoginFailed(context.Context, string, string) error { return nil }
func (noThrottle) LoginSucceeded(context.Context, string) error      { return nil }
func (noThrottle) CheckSignup(context.Context, string) error         { return nil }
func (noThrottle) SignupAttempted(context.Context, string) error     { return nil }

func (noThrottle) CheckPasswordChange(context.Context, string, string) error { return nil }
func (noThrottle) CheckRename(context.Context, int64, string) error          { return nil }
func (noThrottle) RenameAttempted(context.Context, int64, string) error      { return nil }

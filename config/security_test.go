package config

import (
	"strings"
	"testing"
	"time"
)

func TestSecurityDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginAccountLimit != 10 || c.LoginIPLimit != 100 || c.LoginWindow != 15*time.Minute ||
		c.SignupIPLimit != 20 || c.SignupWindow != time.Hour || c.ThrottleBaseDelay != time.Second {
		t.Errorf("got %+v, want the documented throttle defaults", c)
	}
	if len(c.TrustedProxyList()) != 0 || len(c.CORSOriginList()) != 0 {
		t.Errorf("got proxies %q and origins %q, want none trusted and CORS off", c.TrustedProxyList(), c.CORSOriginList())
	}
}

func TestCORSOrigins(t *testing.T) {
	c, err := load(t, map[string]string{"ROLEGATE_CORS_ORIGINS": " https://app.example.com, http://localhost:3000 ,"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.CORSOriginList(), " "); got != "https://app.example.com http://localhost:3000" {
		t.Errorf("got origins %q, want the two listed", got)
	}
	for _, bad := range []string{"*", "null", "https://app.example.com/", "https://App.example.com", "app.example.com",
		"ftp://app.example.com", "https://user@app.example.com", "https://app.example.com/path", "https://a.example.com?x"} {
		_, err := load(t, map[string]string{"ROLEGATE_CORS_ORIGINS": "https://ok.example.com," + bad})
		if err == nil || !strings.Contains(err.Error(), "ROLEGATE_CORS_ORIGINS") {
			t.Errorf("origin %q: got %v, want an error naming ROLEGATE_CORS_ORIGINS", bad, err)
		}
	}
	_, err = load(t, map[string]string{"ROLEGATE_CORS_ORIGINS": "*"})
	if err == nil || !strings.Contains(err.Error(), `"*" is not allowed`) {
		t.Errorf("origin *: got %v, want a clear refusal", err)
	}
}

func TestTrustedProxiesAndLimits(t *testing.T) {
	c, err := load(t, map[string]string{"ROLEGATE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,::1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.TrustedProxyList(), " "); got != "10.0.0.0/8 192.168.1.7 ::1" {
		t.Errorf("got proxies %q, want the three listed", got)
	}
	for name, v := range map[string]string{
		"ROLEGATE_TRUSTED_PROXIES":     "10.0.0.0/8,proxy.internal",
		"ROLEGATE_LOGIN_ACCOUNT_LIMIT": "0",
		"ROLEGATE_LOGIN_IP_LIMIT":      "-1",
		"ROLEGATE_LOGIN_WINDOW":        "0s",
		"ROLEGATE_SIGNUP_IP_LIMIT":     "0",
		"ROLEGATE_SIGNUP_WINDOW":       "-1m",
		"ROLEGATE_THROTTLE_BASE_DELAY": "0s",
	} {
		if _, err := load(t, map[string]string{name: v}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: got %v, want an error naming it", name, v, err)
		}
	}
}

// TestPublicURL checks that ROLEGATE_PUBLIC_URL, which list pages' next
// links are built on, takes an absolute http(s) URL and refuses anything a
// link could not start with.
func TestPublicURL(t *testing.T) {
	c, err := load(t, map[string]string{"ROLEGATE_PUBLIC_URL": "https://auth.example.com/idp"})
	if err != nil || c.PublicURL != "https://auth.example.com/idp" {
		t.Fatalf("good URL: got %q, %v", c.PublicURL, err)
	}
	for _, bad := range []string{"auth.example.com", "/v1", "ftp://auth.example.com", "https://", "https://u:p@auth.example.com",
		"https://auth.example.com/?a=1", "https://auth.example.com/#x", "https://auth.example.com/?"} {
		_, err := load(t, map[string]string{"ROLEGATE_PUBLIC_URL": bad})
		if err == nil || !strings.Contains(err.Error(), "ROLEGATE_PUBLIC_URL") {
			t.Errorf("public URL %q: got %v, want an error naming ROLEGATE_PUBLIC_URL", bad, err)
		}
	}
}

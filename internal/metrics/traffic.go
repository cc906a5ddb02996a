package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a login, the values of rolegate_logins_total's result label.
const (
	LoginSuccess   = "success"
	LoginFailure   = "failure"
	LoginThrottled = "throttled"
	LoginError     = "error"
)

// Results of a refresh, the values of rolegate_token_refreshes_total's
// result label. A reuse is also a failure, counted apart because it means
// a stolen or replayed token.
const (
	RefreshSuccess = "success"
	RefreshFailure = "failure"
	RefreshReuse   = "reuse"
)

// Unmatched is the route label of requests no route matched (404 and 405).
const Unmatched = "unmatched"

// Other replaces a label value once a label set has too many distinct
// values, so that no client can grow the series without bound.
const Other = "other"

// maxSeries caps the distinct label combinations of each traffic vector.
const maxSeries = 2000

// traffic holds the per-request collectors, and caches each label
// combination's children so that the request path does no label hashing
// after the first request of its kind.
type traffic struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec

	requestChildren  cache[requestKey, requestChild]
	decisionChildren cache[decisionKey, prometheus.Counter]
}

type requestKey struct {
	route, method string
	status        int
}

type requestChild struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

type decisionKey struct{ resource, action, result string }

// cache is a bounded, concurrent map from label values to children.
type cache[K comparable, V any] struct {
	m sync.Map
	n atomic.Int64
}

// get returns the child for k, made by mk on first use. Past maxSeries
// distinct keys, new keys get the child of overflow instead.
func (c *cache[K, V]) get(k, overflow K, mk func(K) V) V {
	if v, ok := c.m.Load(k); ok {
		return v.(V)
	}
	if c.n.Load() >= maxSeries {
		k = overflow
		if v, ok := c.m.Load(k); ok {
			return v.(V)
		}
	}
	v, loaded := c.m.LoadOrStore(k, mk(k))
	if !loaded {
		c.n.Add(1)
	}
	return v.(V)
}

func newTraffic() *traffic {
	return &traffic{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_http_requests_total",
			Help: "HTTP requests by route template (unmatched for 404/405), method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rolegate_http_request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_authz_decisions_total",
			Help: "Policy decisions by resource, action and result (allow, deny, error).",
		}, []string{"resource", "action", "result"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_logins_total",
			Help: "Logins by result (success, failure, throttled, error).",
		}, []string{"result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_token_refreshes_total",
			Help: "Refresh-token rotations by result (success, failure, reuse: a spent token presented again, which ends its session).",
		}, []string{"result"}),
	}
}

func (t *traffic) collectors() []prometheus.Collector {
	return []prometheus.Collector{t.requests, t.latency, t.decisions, t.logins, t.refreshes}
}

// methodLabel keeps the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return Other
}

// statusText is a status code's label value, without allocating for the
// common ones.
func statusText(code int) string {
	if code >= 100 && code <= 599 {
		return statusStrings[code-100]
	}
	return Other
}

var statusStrings = func() []string {
	s := make([]string, 500)
	for i := range s {
		n := i + 100
		s[i] = string(rune('0'+n/100)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
	}
	return s
}()

// ObserveRequest counts one request and its latency. route is the route
// template, or "" for a request no route matched.
func (m *Metrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	if route == "" {
		route = Unmatched
	}
	k := requestKey{route: route, method: methodLabel(method), status: status}
	ch := m.traffic.requestChildren.get(k, requestKey{Other, Other, 0}, func(k requestKey) requestChild {
		labels := []string{k.route, k.method, statusText(k.status)}
		return requestChild{m.traffic.requests.WithLabelValues(labels...), m.traffic.latency.WithLabelValues(labels...)}
	})
	ch.count.Inc()
	ch.latency.Observe(elapsed.Seconds())
}

// ObserveDecision counts one policy decision: allowed, denied, or failed
// (err is not nil).
func (m *Metrics) ObserveDecision(resource, action string, allowed bool, err error) {
	result := "deny"
	switch {
	case err != nil:
		result = "error"
	case allowed:
		result = "allow"
	}
	k := decisionKey{resource, action, result}
	m.traffic.decisionChildren.get(k, decisionKey{Other, Other, result}, func(k decisionKey) prometheus.Counter {
		return m.traffic.decisions.WithLabelValues(k.resource, k.action, k.result)
	}).Inc()
}

// ObserveLogin counts a login by result: LoginSuccess, LoginFailure,
// LoginThrottled or LoginError.
func (m *Metrics) ObserveLogin(result string) { m.traffic.logins.WithLabelValues(result).Inc() }

// LoginThrottled counts a login refused by throttling, before any password
// was checked.
func (m *Metrics) LoginThrottled() { m.ObserveLogin(LoginThrottled) }

// ObserveRefresh counts a refresh by result: RefreshSuccess,
// RefreshFailure or RefreshReuse.
func (m *Metrics) ObserveRefresh(result string) { m.traffic.refreshes.WithLabelValues(result).Inc() }

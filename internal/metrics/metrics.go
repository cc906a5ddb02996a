// Package metrics holds rolegate's Prometheus collectors in one registry,
// so that tests and several servers in one process never collide on the
// global default registry.
package metrics

import (
	"database/sql"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every collector rolegate exports.
type Metrics struct {
	registry *prometheus.Registry

	PolicyReloads *prometheus.CounterVec
	policyInfo    *prometheus.GaugeVec
	traffic       *traffic
}

// New returns collectors registered in a fresh registry, with Go runtime
// and process metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		PolicyReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolegate_policy_reloads_total",
			Help: "Policy reload attempts by trigger (startup, file, sighup, api, notify) and result (success, failure).",
		}, []string{"trigger", "result"}),
		policyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rolegate_policy_info",
			Help: "1 for the policy version in force, labelled with its sha256.",
		}, []string{"version"}),
		traffic: newTraffic(),
	}
	m.registry.MustRegister(m.traffic.collectors()...)
	for _, r := range []string{LoginSuccess, LoginFailure, LoginThrottled, LoginError} {
		m.traffic.logins.WithLabelValues(r)
	}
	for _, r := range []string{RefreshSuccess, RefreshFailure, RefreshReuse} {
		m.traffic.refreshes.WithLabelValues(r)
	}
	m.registry.MustRegister(
		m.PolicyReloads, m.policyInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Register adds more collectors, such as the database pool's.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.registry.MustRegister(cs...) }

// ObserveDB exports the connection pool's statistics as
// go_sql_*{db_name="rolegate"}.
func (m *Metrics) ObserveDB(db *sql.DB) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, "rolegate"))
}

// AuditCounts are the audit recorder's counters.
type AuditCounts struct {
	Written, Dropped                   int64
	Aggregated, Suppressed, Overflowed int64
}

// ObserveAudit exports the audit recorder's counts, read at every scrape:
// rolegate_audit_events_total{outcome="written"|"dropped"}, and for the
// occurrences aggregated instead of recorded one by one,
// rolegate_audit_aggregated_total, rolegate_audit_suppressed_total and
// rolegate_audit_overflow_total. Reading the recorder's own counters keeps
// one source of truth for each.
func (m *Metrics) ObserveAudit(counts func() AuditCounts) {
	counter := func(opts prometheus.CounterOpts, pick func(AuditCounts) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(opts, func() float64 { return float64(pick(counts())) })
	}
	const events, eventsHelp = "rolegate_audit_events_total", "Audit events written to the database, or dropped (buffer full, database down, or shutdown); every event is also in the log."
	m.registry.MustRegister(
		counter(prometheus.CounterOpts{Name: events, Help: eventsHelp, ConstLabels: prometheus.Labels{"outcome": "written"}},
			func(c AuditCounts) int64 { return c.Written }),
		counter(prometheus.CounterOpts{Name: events, Help: eventsHelp, ConstLabels: prometheus.Labels{"outcome": "dropped"}},
			func(c AuditCounts) int64 { return c.Dropped }),
		counter(prometheus.CounterOpts{Name: "rolegate_audit_aggregated_total",
			Help: "Denials of anonymous callers and throttled requests counted into aggregate audit events (one per client address, route and reason per minute) instead of one event each."},
			func(c AuditCounts) int64 { return c.Aggregated }),
		counter(prometheus.CounterOpts{Name: "rolegate_audit_suppressed_total",
			Help: "Aggregated occurrences that got no audit event of their own: counted into an aggregate already open."},
			func(c AuditCounts) int64 { return c.Suppressed }),
		counter(prometheus.CounterOpts{Name: "rolegate_audit_overflow_total",
			Help: "Aggregated occurrences counted into a per-route overflow bucket, which names no client, because the cap on open aggregates was reached."},
			func(c AuditCounts) int64 { return c.Overflowed }),
	)
}

// SetPolicyVersion marks version as the one in force.
func (m *Metrics) SetPolicyVersion(version string) {
	m.policyInfo.Reset()
	m.policyInfo.WithLabelValues(version).Set(1)
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Package audit records rolegate's audit trail: every event goes to the
// structured log at once and, batched in the background, to the database,
// so that recording costs a request no more than a channel send. Events
// that come in floods (denials of anonymous callers, throttled requests)
// are aggregated instead: one event per kind per window, with a count.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolegate/rolegate/models"
)

// Store is where the recorder writes events.
type Store interface {
	// InsertAuditEvents stores events in one go, or returns an error and
	// stores none of them.
	InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error
}

// Options tune a Recorder. Zero values pick the defaults.
type Options struct {
	// Buffer is how many events may wait to be written; more are dropped.
	// Default 10000.
	Buffer int
	// BatchSize is the most events written at once. Default 500.
	BatchSize int
	// FlushInterval is the longest an event waits for a batch to fill.
	// Default 200ms.
	FlushInterval time.Duration
	// Retries is how often a failed batch is tried again before its events
	// are dropped. Default 3; negative means none.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each
	// next one. Default 100ms.
	Backoff time.Duration
	// Window is how long occurrences are counted into one aggregate
	// event (see Aggregate). Windows are aligned to the clock, so replicas
	// share their boundaries. Default 1 minute.
	Window time.Duration
	// MaxAggregates caps the aggregates open in a window; occurrences of
	// any further kind are counted into per-route overflow buckets.
	// Default 1000.
	MaxAggregates int
	// Log receives every event, and reports drops. Default: discard.
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Buffer, 10000)
	def(&o.BatchSize, 500)
	def(&o.Retries, 3)
	def(&o.MaxAggregates, 1000)
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.Backoff == 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts events. Once a Recorder is closed, Recorded equals Written
// plus Dropped.
type Stats struct {
	Recorded int64 // events for the database: Record calls and aggregate events
	Written  int64 // events stored in the database
	Dropped  int64 // events lost: buffer full, recorder closed, or the database refused them

	Aggregated int64 // occurrences counted by Aggregate
	Suppressed int64 // of those, the ones counted into an aggregate already open: a row each that was not written
	Overflowed int64 // of those, the ones counted into an overflow bucket because MaxAggregates were open
}

// Recorder writes audit events to a Store in batches, from one background
// goroutine. It is safe for concurrent use.
type Recorder struct {
	store Store
	opts  Options
	log   *slog.Logger

	events chan models.AuditEvent
	// mu makes Close wait for Record calls in progress, so that the final
	// drain sees every event that was accepted.
	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	done   chan struct{}
	// ctx is cancelled when Close gives up, to abandon writes and retries.
	ctx    context.Context
	cancel context.CancelFunc

	// tallies are the aggregates of the window in progress, which ends
	// at windowEnd; only the writer goroutine reads windowEnd.
	tallies   *tallies
	windowEnd time.Time

	recorded, written, dropped         atomic.Int64
	aggregated, suppressed, overflowed atomic.Int64
	lastDropLog                        atomic.Int64 // unix nanoseconds
}

// New starts a Recorder writing to store. Call Close to flush and stop it.
func New(store Store, opts Options) *Recorder {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{
		store: store, opts: opts, log: opts.Log,
		events: make(chan models.AuditEvent, opts.Buffer),
		stop:   make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
		tallies: newTallies(opts.MaxAggregates), windowEnd: windowEnd(time.Now(), opts.Window),
	}
	go r.run()
	return r
}

// Record logs e and queues it for the database. It never blocks: when the
// buffer is full, or the recorder is closed, the event is dropped and
// counted (it is still in the log). At is set to now when zero.
func (r *Recorder) Record(ctx context.Context, e models.AuditEvent) {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	r.recorded.Add(1)
	r.logEvent(ctx, e)
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.drop(1, "recorder closed")
		return
	}
	select {
	case r.events <- e:
	default:
		r.drop(1, "buffer full")
	}
}

// Aggregate counts e as one more occurrence of the events just like it
// (every field but At and RequestID equal) in the current window. At the
// end of the window, or on Close, each aggregate becomes one event: At is
// its last occurrence, FirstAt its first, Count how many there were, and
// RequestID the first one's. That event is logged and stored then; an
// occurrence itself is neither, so a flood costs a map update per request.
//
// Past MaxAggregates open aggregates, an occurrence of a new kind is
// counted into an overflow bucket for its route, which names no client or
// actor. Aggregate reports whether e opened an aggregate, so that the
// caller can log the first occurrence of each and skip the rest. It never
// blocks on the database.
func (r *Recorder) Aggregate(ctx context.Context, e models.AuditEvent, route string) (first bool) {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.recorded.Add(1)
		r.logEvent(ctx, e)
		r.drop(1, "recorder closed")
		return true
	}
	first, overflowed := r.tallies.add(e, route)
	r.aggregated.Add(1)
	if !first {
		r.suppressed.Add(1)
	}
	if overflowed {
		r.overflowed.Add(1)
	}
	return first
}

// windowEnd is the end of the aggregation window that holds t.
func windowEnd(t time.Time, window time.Duration) time.Time {
	return t.Truncate(window).Add(window)
}

// logEvent writes e to the structured log, with its count and first time
// when it is an aggregate. The check comes first so that a disabled log
// costs no attributes.
func (r *Recorder) logEvent(ctx context.Context, e models.AuditEvent) {
	if !r.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", e.Action), slog.String("result", e.Result),
		slog.Int64("actor_id", e.ActorID), slog.String("actor_role", e.ActorRole),
		slog.String("target", e.Target), slog.String("rule", e.Rule),
		slog.String("policy_version", e.PolicyVersion), slog.String("request_id", e.RequestID),
		slog.String("client_ip", e.ClientIP), slog.Any("detail", e.Detail),
	}
	if e.Count > 0 {
		attrs = append(attrs, slog.Int64("count", e.Count), slog.Time("first_at", e.FirstAt))
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// drop counts n lost events and logs it, at most once a second: drops
// come in floods, when the database is slow or down.
func (r *Recorder) drop(n int, reason string) {
	total := r.dropped.Add(int64(n))
	now := time.Now().UnixNano()
	last := r.lastDropLog.Load()
	if now-last >= int64(time.Second) && r.lastDropLog.CompareAndSwap(last, now) {
		r.log.Warn("audit events dropped", "reason", reason, "count", n, "dropped_total", total)
	}
}

// Stats returns the counts so far.
func (r *Recorder) Stats() Stats {
	return Stats{
		Recorded: r.recorded.Load(), Written: r.written.Load(), Dropped: r.dropped.Load(),
		Aggregated: r.aggregated.Load(), Suppressed: r.suppressed.Load(), Overflowed: r.overflowed.Load(),
	}
}

// Close stops taking events and waits until every queued event is written
// or dropped. If ctx ends first, the writes still pending are abandoned,
// their events counted as dropped, and Close returns an error.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		close(r.stop)
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	<-r.done
	return fmt.Errorf("audit: flush on close: %w", ctx.Err())
}

// run is the writer: it gathers events into batches, writing one when it
// is full or the flush interval passes, adds the aggregates of each window
// that ended, and drains the buffer and the aggregates on Close.
func (r *Recorder) run() {
	defer close(r.done)
	defer r.cancel()
	tick := time.NewTicker(r.opts.FlushInterval)
	defer tick.Stop()
	batch := make([]models.AuditEvent, 0, r.opts.BatchSize)
	for {
		select {
		case e := <-r.events:
			batch = r.add(batch, e)
		case now := <-tick.C:
			batch = r.flush(r.endWindow(batch, now))
		case <-r.stop:
			r.drain(batch)
			return
		}
	}
}

// add appends e to batch, writing the batch once it is full.
func (r *Recorder) add(batch []models.AuditEvent, e models.AuditEvent) []models.AuditEvent {
	batch = append(batch, e)
	if len(batch) >= r.opts.BatchSize {
		return r.flush(batch)
	}
	return batch
}

// endWindow adds the window's aggregates to batch once the window has
// ended at now. A writer held up by a slow database ends it late, and
// its aggregates then span more than one window; their FirstAt and At
// say so.
func (r *Recorder) endWindow(batch []models.AuditEvent, now time.Time) []models.AuditEvent {
	if now.Before(r.windowEnd) {
		return batch
	}
	r.windowEnd = windowEnd(now, r.opts.Window)
	return r.addAggregates(batch)
}

// addAggregates logs the open aggregates and adds them to batch.
func (r *Recorder) addAggregates(batch []models.AuditEvent) []models.AuditEvent {
	for _, e := range r.tallies.take() {
		r.recorded.Add(1)
		r.logEvent(r.ctx, e)
		batch = r.add(batch, e)
	}
	return batch
}

// drain writes batch, every event still buffered, and the open
// aggregates. No Record or Aggregate can add more: Close marked the
// recorder closed before signalling stop.
func (r *Recorder) drain(batch []models.AuditEvent) {
	for {
		select {
		case e := <-r.events:
			batch = r.add(batch, e)
		default:
			r.flush(r.addAggregates(batch))
			return
		}
	}
}

// flush writes batch, retrying with backoff, and returns it emptied for
// reuse. A batch that still fails is dropped and counted.
func (r *Recorder) flush(batch []models.AuditEvent) []models.AuditEvent {
	if len(batch) == 0 {
		return batch
	}
	err := r.write(batch)
	if err != nil {
		r.log.Error("audit events not written; dropping them", "count", len(batch), "err", err)
		r.drop(len(batch), "database write failed")
	} else {
		r.written.Add(int64(len(batch)))
	}
	clear(batch) // let the events' details be collected
	return batch[:0]
}

// write tries to store batch 1+Retries times, waiting Backoff, then twice
// as long, and so on, between tries.
func (r *Recorder) write(batch []models.AuditEvent) error {
	wait := r.opts.Backoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = r.store.InsertAuditEvents(r.ctx, batch); err == nil {
			return nil
		}
		if attempt == r.opts.Retries || r.ctx.Err() != nil {
			return err
		}
		r.log.Warn("audit write failed; retrying", "count", len(batch), "attempt", attempt+1, "in", wait.String(), "err", err)
		select {
		case <-time.After(wait):
		case <-r.ctx.Done():
			return errors.Join(err, r.ctx.Err())
		}
		wait *= 2
	}
}

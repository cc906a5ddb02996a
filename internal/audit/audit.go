// Package audit records rolegate's audit trail: every event goes to the
// structured log at once and, batched in the background, to the database,
// so that recording costs a request no more than a channel send.
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
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.Backoff == 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts events. Once a Recorder is closed, Recorded equals Written
// plus Dropped.
type Stats struct {
	Recorded int64 // Record calls
	Written  int64 // events stored in the database
	Dropped  int64 // events lost: buffer full, recorder closed, or the database refused them
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

	recorded, written, dropped atomic.Int64
	lastDropLog                atomic.Int64 // unix nanoseconds
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

// logEvent writes e to the structured log. The check comes first so that
// a disabled log costs no attributes.
func (r *Recorder) logEvent(ctx context.Context, e models.AuditEvent) {
	if !r.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("action", e.Action), slog.String("result", e.Result),
		slog.Int64("actor_id", e.ActorID), slog.String("actor_role", e.ActorRole),
		slog.String("target", e.Target), slog.String("rule", e.Rule),
		slog.String("policy_version", e.PolicyVersion), slog.String("request_id", e.RequestID),
		slog.String("client_ip", e.ClientIP), slog.Any("detail", e.Detail))
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
	return Stats{Recorded: r.recorded.Load(), Written: r.written.Load(), Dropped: r.dropped.Load()}
}

// Counts returns how many events were written and dropped, for metrics.
func (r *Recorder) Counts() (written, dropped int64) {
	return r.written.Load(), r.dropped.Load()
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
// is full or the flush interval passes, and drains the buffer on Close.
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
		case <-tick.C:
			batch = r.flush(batch)
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

// drain writes batch and every event still buffered. No Record can add
// more: Close marked the recorder closed before signalling stop.
func (r *Recorder) drain(batch []models.AuditEvent) {
	for {
		select {
		case e := <-r.events:
			batch = r.add(batch, e)
		default:
			r.flush(batch)
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

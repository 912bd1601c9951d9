// Package ratelimit is a per-key token bucket. It runs inside each process
// (one Lambda container, or the local gateway), so it bounds what one key can
// make one container do; the stack's API Gateway throttling bounds the total.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows Rate requests per second per key, in bursts of up to Burst.
type Limiter struct {
	Rate  float64
	Burst int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Decision is the outcome for one request, with what the RateLimit headers report.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // until one request is allowed, when refused
}

// maxKeys bounds memory; full buckets carry no information and are dropped first.
const maxKeys = 10000

// Allow takes a token for key at now.
func (l *Limiter) Allow(key string, now time.Time) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[string]*bucket)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.Burst), last: now}
		l.buckets[key] = b
	}
	// Callers read the clock before taking the lock, so a concurrent caller
	// may arrive with an earlier now: that is no time passing, not a debt of
	// tokens (at a high rate a few microseconds back emptied the bucket).
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+elapsed.Seconds()*l.Rate)
		b.last = now
	}
	d := Decision{Limit: l.Burst}
	if b.tokens >= 1 {
		b.tokens--
		d.Allowed = true
	} else {
		d.RetryAfter = l.dur(1 - b.tokens)
	}
	d.Remaining = int(b.tokens)
	d.Reset = l.dur(float64(l.Burst) - b.tokens)
	return d
}

func (l *Limiter) dur(tokens float64) time.Duration {
	return time.Duration(tokens / l.Rate * float64(time.Second))
}

func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.Rate >= float64(l.Burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxKeys {
		clear(l.buckets) // under a flood of distinct keys, forgetting is the safe side
	}
}

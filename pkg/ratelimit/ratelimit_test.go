package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	l := &Limiter{Rate: 2, Burst: 3}
	now := time.Unix(0, 0)
	for i := range 3 {
		if d := l.Allow("k", now); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Allow("k", now)
	if d.Allowed || d.RetryAfter != 500*time.Millisecond || d.Reset != 1500*time.Millisecond {
		t.Fatalf("over the burst: %+v", d)
	}
	if d := l.Allow("other", now); !d.Allowed {
		t.Fatal("keys must not share a bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if d := l.Allow("k", now); !d.Allowed {
		t.Fatalf("refilled token refused: %+v", d)
	}
}

func TestMemoryBounded(t *testing.T) {
	l := &Limiter{Rate: 1, Burst: 1}
	now := time.Unix(0, 0)
	for i := range maxKeys * 2 {
		l.Allow(fmt.Sprint(i), now)
	}
	if len(l.buckets) > maxKeys {
		t.Fatalf("%d buckets", len(l.buckets))
	}
}

// TestClockOutOfOrder: concurrent requests read the clock before the lock, so
// one may arrive with an earlier time than the last; that must not cost
// tokens (at a million per second, 50 µs back used to empty the bucket).
func TestClockOutOfOrder(t *testing.T) {
	l := &Limiter{Rate: 1e6, Burst: 40}
	t0 := time.Unix(1000, 0)
	if !l.Allow("k", t0.Add(50*time.Microsecond)).Allowed {
		t.Fatal("first request refused")
	}
	if d := l.Allow("k", t0); !d.Allowed || d.Remaining != 38 {
		t.Fatalf("request stamped just before the previous one: %+v", d)
	}
}

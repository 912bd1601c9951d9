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

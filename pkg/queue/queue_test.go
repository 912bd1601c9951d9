package queue

import (
	"testing"
	"time"
)

func TestBackoffFor(t *testing.T) {
	want := map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 5: 32 * time.Second, 9: 5 * time.Minute, 50: 5 * time.Minute}
	for n, d := range want {
		if got := BackoffFor(n); got != d {
			t.Errorf("receive %d: %s, want %s", n, got, d)
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/onvera/deployments/pkg/client"
)

// isTerminal reports whether v is an interactive terminal. NO_COLOR or
// TERM=dumb ask for plain output, as does anything that is not an *os.File.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// waitWithProgress follows an operation until it is done. On a terminal it
// redraws one status line (spinner, status, elapsed time) and prints a line
// for every status change; otherwise it writes one plain, timestamped log
// line per status change, for CI logs and pipes.
func waitWithProgress(ctx context.Context, cl *client.Client, opID, what string, timeout time.Duration, w io.Writer) (client.Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	tty := isTerminal(w)

	var mu sync.Mutex
	status := "submitted"
	elapsed := func() string { return time.Since(start).Round(100 * time.Millisecond).String() }
	line := func(msg string) {
		if tty {
			fmt.Fprintf(w, "\r\x1b[2K%s\n", msg)
		} else {
			fmt.Fprintf(w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), msg)
		}
	}

	done := make(chan struct{})
	var spin sync.WaitGroup
	if tty {
		spin.Go(func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-done:
					fmt.Fprint(w, "\r\x1b[2K")
					return
				case <-t.C:
					mu.Lock()
					fmt.Fprintf(w, "\r\x1b[2K%s %s: %s (%s)", spinnerFrames[i%len(spinnerFrames)], what, status, elapsed())
					mu.Unlock()
				}
			}
		})
	} else {
		line(fmt.Sprintf("%s: waiting for operation %s", what, opID))
	}

	op, err := cl.WaitOperation(ctx, opID, client.WaitOptions{
		Initial: 250 * time.Millisecond, Max: 3 * time.Second,
		OnUpdate: func(op client.Operation) {
			mu.Lock()
			defer mu.Unlock()
			if op.Status != status {
				status = op.Status
				line(fmt.Sprintf("%s: operation %s (%s)", what, op.Status, elapsed()))
			}
		},
	})
	close(done)
	spin.Wait()

	mu.Lock()
	defer mu.Unlock()
	switch {
	case err == nil:
		line(fmt.Sprintf("%s: done in %s", what, elapsed()))
	case isOperationFailed(err):
		// The caller reports the failure; the status line above already says it.
	case errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("gave up waiting after %s; the operation continues: onvera operations get %s --wait", timeout, opID)
	case errors.Is(err, context.Canceled):
		err = fmt.Errorf("stopped waiting; the operation continues: onvera operations get %s --wait", opID)
	}
	return op, err
}

// Package faults injects AWS failures for tests: it wraps the SDK's HTTP
// client and fails a share of calls the way AWS and networks do - throttling,
// 5xx, connection resets before the request is sent, and responses lost after
// the request was applied (the nastiest: the write happened, the caller
// thinks it did not). Everything above it - SDK retries, conditional writes,
// the reconciler - must keep the system correct.
package faults

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Kind is a failure mode.
type Kind string

const (
	Throttle     Kind = "throttle"      // 400 ThrottlingException, not applied
	ServerError  Kind = "server_error"  // 500, not applied
	Unavailable  Kind = "unavailable"   // 503, not applied
	Reset        Kind = "reset"         // connection reset before sending
	LostResponse Kind = "lost_response" // applied, then the response times out
)

var kinds = []Kind{Throttle, ServerError, Unavailable, Reset, LostResponse}

// Client fails Rate of the calls that pass through it.
type Client struct {
	Next aws.HTTPClient
	Rate float64

	mu     sync.Mutex
	on     bool
	rng    *rand.Rand
	counts map[Kind]int
	calls  int
}

// Wrap installs a fault injector in cfg and returns it, switched on.
func Wrap(cfg *aws.Config, rate float64, seed uint64) *Client {
	next := cfg.HTTPClient
	if next == nil {
		next = http.DefaultClient
	}
	c := &Client{Next: next, Rate: rate, on: true, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), counts: map[Kind]int{}}
	cfg.HTTPClient = c
	return c
}

// Enable switches injection on or off (setup and verification run clean).
func (c *Client) Enable(on bool) {
	c.mu.Lock()
	c.on = on
	c.mu.Unlock()
}

// Counts reports calls seen and faults injected by kind.
func (c *Client) Counts() (calls int, injected map[Kind]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Kind]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return c.calls, out
}

func (c *Client) pick() (Kind, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return "", false
	}
	c.calls++
	if c.rng.Float64() >= c.Rate {
		return "", false
	}
	k := kinds[c.rng.IntN(len(kinds))]
	c.counts[k]++
	return k, true
}

// timeoutError is what a client-side timeout looks like to the SDK's retryer.
type timeoutError struct{}

func (timeoutError) Error() string   { return "injected fault: i/o timeout waiting for response" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Do implements aws.HTTPClient.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	kind, fail := c.pick()
	if !fail {
		return c.Next.Do(req)
	}
	switch kind {
	case Reset:
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	case LostResponse:
		res, err := c.Next.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return nil, timeoutError{}
	}
	status, code := http.StatusBadRequest, "ThrottlingException"
	switch kind {
	case ServerError:
		status, code = http.StatusInternalServerError, "InternalServerError"
	case Unavailable:
		status, code = http.StatusServiceUnavailable, "ServiceUnavailable"
	}
	prefix := "com.amazonaws.dynamodb.v20120810#"
	if strings.Contains(req.Header.Get("X-Amz-Target"), "SQS") {
		prefix = "com.amazonaws.sqs#"
	}
	body := fmt.Sprintf(`{"__type":"%s%s","message":"injected fault"}`, prefix, code)
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Errortype": {code}},
		Body:   io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: req,
	}, nil
}

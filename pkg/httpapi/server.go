package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/ratelimit"
)

// Server holds what the handlers need.
type Server struct {
	Service *deployment.Service
	Auth    *apikey.Authenticator
	Limiter *ratelimit.Limiter // per key; nil disables
	Log     *slog.Logger
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyAPIKey
	keyLog // *accessLog: what inner layers add to the request's log line
)

// Handler serves the given routes (all of them when none are given), with
// JSON 404 and 405 answers for everything else.
func (s *Server) Handler(routes ...Route) http.Handler {
	if len(routes) == 0 {
		routes = Routes
	}
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.Pattern(), s.route(rt))
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	for path, ms := range methods {
		// A method-less pattern is less specific than the method ones, so it
		// only catches the methods the path does not serve.
		allow := strings.Join(ms, ", ")
		mux.Handle(path, s.wrap("", func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return apierr.New(apierr.MethodNotAllowed, "Method "+r.Method+" not allowed. Allowed: "+allow)
		}))
	}
	mux.Handle("/", s.wrap("", func(http.ResponseWriter, *http.Request) error { return apierr.ErrNotFound }))
	return mux
}

// route adds authentication and the scope check to a route's handler.
func (s *Server) route(rt Route) http.Handler {
	return s.wrap(rt.Name, func(w http.ResponseWriter, r *http.Request) error {
		if rt.Scope != "" {
			k, ok, err := s.Auth.Authenticate(r.Context(), r.Header.Get("X-API-Key"))
			if err != nil {
				return err
			}
			if !ok {
				return apierr.ErrInvalidAPIKey
			}
			if !k.Has(rt.Scope) {
				return apierr.InsufficientScopeFor(string(rt.Scope))
			}
			logAttrs(r.Context()).org = k.OrgID
			if err := s.limit(w, k); err != nil {
				return err
			}
			r = r.WithContext(context.WithValue(r.Context(), keyAPIKey, k))
		}
		return rt.handle(s, w, r)
	})
}

// limit applies the key's rate limit and reports it in RateLimit headers.
func (s *Server) limit(w http.ResponseWriter, k apikey.Key) error {
	if s.Limiter == nil {
		return nil
	}
	d := s.Limiter.Allow(k.Hash, time.Now())
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
	if d.Allowed {
		return nil
	}
	retry := ceilSeconds(d.RetryAfter)
	h.Set("Retry-After", strconv.Itoa(retry))
	return apierr.Errorf(apierr.RateLimited, "Rate limit exceeded. Retry after %d seconds", retry)
}

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// wrap gives every request an id, a structured access log line, panic
// recovery and one place where errors become envelopes.
func (s *Server) wrap(name string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		la := &accessLog{}
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyLog, la)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.writeError(sw, r, panicError{p})
				}
			}()
			if err := h(sw, r); err != nil {
				s.writeError(sw, r, err)
			}
		}()
		s.logger().LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("request_id", id), slog.String("route", name), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.String("org_id", la.org),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000))
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// accessLog collects fields known only inside the handler chain.
type accessLog struct{ org string }

func logAttrs(ctx context.Context) *accessLog {
	if la, ok := ctx.Value(keyLog).(*accessLog); ok {
		return la
	}
	return &accessLog{}
}

// requestID prefers API Gateway's id so logs join up with its access logs.
func requestID(r *http.Request) string {
	if c, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && c.RequestID != "" {
		return c.RequestID
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID returns the request's id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func keyFrom(ctx context.Context) apikey.Key {
	k, _ := ctx.Value(keyAPIKey).(apikey.Key)
	return k
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic: ", p.v) }

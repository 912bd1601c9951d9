// Package client is a typed Go client for the Onvera Deployments API.
//
//	c := client.New(os.Getenv("ONVERA_API_URL"), os.Getenv("ONVERA_API_KEY"))
//	acc, err := c.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: client.Airflow})
//	op, err := c.WaitOperation(ctx, acc.OperationID, client.WaitOptions{})
//
// Every error the API answers is an *Error carrying the documented code, the
// message, the HTTP status and the request id; network failures are returned
// as they are. A failed operation ends WaitOperation with *OperationFailedError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The API's error codes (see openapi.yaml).
const (
	CodeInvalidRequest       = "INVALID_REQUEST"
	CodeInvalidAPIKey        = "INVALID_API_KEY"
	CodeInsufficientScope    = "INSUFFICIENT_SCOPE"
	CodeNotFound             = "NOT_FOUND"
	CodeDeploymentNotFound   = "DEPLOYMENT_NOT_FOUND"
	CodeOperationNotFound    = "OPERATION_NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeDeploymentDestroyed  = "DEPLOYMENT_DESTROYED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	CodeRateLimited          = "RATE_LIMITED"
	CodeInternal             = "INTERNAL_ERROR"
)

// Application types.
const (
	Airflow  = "airflow"
	Superset = "superset"
)

// Deployment statuses.
const (
	StatusProvisioning = "provisioning"
	StatusReady        = "ready"
	StatusDestroying   = "destroying"
	StatusFailed       = "failed"
	StatusDestroyed    = "destroyed"
)

// Operation statuses.
const (
	OpPending   = "pending"
	OpRunning   = "running"
	OpSucceeded = "succeeded"
	OpFailed    = "failed"
)

// Client talks to one API endpoint with one key. The zero value is not
// usable; use New. A Client is safe for concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the API at baseURL (scheme and host, such as
// https://api.onvera.io; a trailing slash is ignored) using apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		apiKey:    apiKey,
		http:      &http.Client{Timeout: 30 * time.Second},
		userAgent: "onvera-go",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an error answered by the API.
type Error struct {
	Status     int    // HTTP status
	Code       string // documented code, such as DEPLOYMENT_NOT_FOUND; empty if the body was not the error envelope
	Message    string
	RequestID  string        // X-Request-Id, for support
	RetryAfter time.Duration // from Retry-After on 429, else 0
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Code != "" {
		fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	} else {
		fmt.Fprintf(&b, "HTTP %d: %s", e.Status, e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Temporary reports whether retrying the same request later may succeed.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Code == CodeConflict
}

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Deployment is a managed application instance.
type Deployment struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	AppType       string          `json:"app_type"`
	Status        string          `json:"status"`
	URL           *string         `json:"url"`
	EnvironmentID string          `json:"environment_id"`
	CreatedAt     time.Time       `json:"created_at"`
	Links         DeploymentLinks `json:"links"`
}

// DeploymentLinks are a deployment's related resources.
type DeploymentLinks struct {
	Self      string  `json:"self"`
	Operation *string `json:"operation"` // the in-flight operation's path; nil when none
}

// Operation is one asynchronous change to a deployment.
type Operation struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`   // create | delete
	Status       string          `json:"status"` // pending | running | succeeded | failed
	DeploymentID string          `json:"deployment_id"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	CompletedAt  *time.Time      `json:"completed_at"`
	Error        *OperationError `json:"error"`
	Progress     *Progress       `json:"progress"` // how far a long operation got; nil when the driver reports none
	Links        OperationLinks  `json:"links"`
}

// Progress is how far an in-flight operation got.
type Progress struct {
	Step           string `json:"step"`
	ResourcesDone  int    `json:"resources_done"`
	ResourcesTotal int    `json:"resources_total"`
}

// Done reports whether the operation has finished (succeeded or failed).
func (o Operation) Done() bool { return o.Status == OpSucceeded || o.Status == OpFailed }

// OperationError says why an operation failed.
type OperationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// OperationLinks are an operation's related resources.
type OperationLinks struct {
	Self       string `json:"self"`
	Deployment string `json:"deployment"`
}

// Accepted is the answer to a create or delete: the operation to follow.
type Accepted struct {
	DeploymentID string        `json:"deployment_id"` // set by create; delete fills it from the request
	OperationID  string        `json:"operation_id"`
	Links        AcceptedLinks `json:"links"`
}

// AcceptedLinks point at the deployment and its operation.
type AcceptedLinks struct {
	Deployment string `json:"deployment"`
	Operation  string `json:"operation"`
}

// Pagination describes one page of a list.
type Pagination struct {
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
	Pages   int64 `json:"pages"`
}

// DeploymentPage is one page of deployments, newest first.
type DeploymentPage struct {
	Items      []Deployment `json:"items"`
	Pagination Pagination   `json:"pagination"`
}

// CreateDeploymentRequest is the body of a create. Name is optional.
type CreateDeploymentRequest struct {
	AppType string `json:"app_type"`
	Name    string `json:"name,omitempty"`
}

// RequestOption adjusts one request.
type RequestOption func(*http.Request)

// WithIdempotencyKey sends an Idempotency-Key, making a create or delete safe
// to retry: the same key and body return the original response.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *http.Request) { r.Header.Set("Idempotency-Key", key) }
}

// CreateDeployment starts creating a deployment.
func (c *Client) CreateDeployment(ctx context.Context, in CreateDeploymentRequest, opts ...RequestOption) (Accepted, error) {
	var out Accepted
	err := c.do(ctx, http.MethodPost, "/api/v1/deployments", in, &out, opts)
	return out, err
}

// ListOptions selects a page; zero values take the API's defaults (1 and 50).
type ListOptions struct {
	Page    int
	PerPage int
}

// ListDeployments returns one page of the organization's deployments.
func (c *Client) ListDeployments(ctx context.Context, o ListOptions) (DeploymentPage, error) {
	q := url.Values{}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	p := "/api/v1/deployments"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out DeploymentPage
	err := c.do(ctx, http.MethodGet, p, nil, &out, nil)
	return out, err
}

// GetDeployment returns one deployment.
func (c *Client) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	var out Deployment
	err := c.do(ctx, http.MethodGet, "/api/v1/deployments/"+url.PathEscape(id), nil, &out, nil)
	return out, err
}

// DeleteDeployment starts destroying a deployment. While it is already being
// destroyed, the in-flight operation is returned.
func (c *Client) DeleteDeployment(ctx context.Context, id string, opts ...RequestOption) (Accepted, error) {
	var out Accepted
	err := c.do(ctx, http.MethodDelete, "/api/v1/deployments/"+url.PathEscape(id), nil, &out, opts)
	if err == nil && out.DeploymentID == "" {
		out.DeploymentID = id
	}
	return out, err
}

// GetOperation returns one operation.
func (c *Client) GetOperation(ctx context.Context, id string) (Operation, error) {
	var out Operation
	err := c.do(ctx, http.MethodGet, "/api/v1/operations/"+url.PathEscape(id), nil, &out, nil)
	return out, err
}

// do sends one request and decodes the {"data": ...} envelope into out, or
// the {"error": ...} envelope into an *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any, opts []RequestOption) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading response: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return decodeError(resp, raw)
	}
	env := struct {
		Data json.RawMessage `json:"data"`
	}{}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) == 0 {
		return &Error{Status: resp.StatusCode, Message: "unexpected response body: " + snippet(raw), RequestID: resp.Header.Get("X-Request-Id")}
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("%s %s: decoding response: %w", method, path, err)
		}
	}
	return nil
}

func decodeError(resp *http.Response, raw []byte) error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
		if s := snippet(raw); s != "" {
			e.Message += ": " + s
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

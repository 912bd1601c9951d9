// Package awscount counts AWS SDK calls per service and operation with an SDK
// middleware, and the DynamoDB items each call read. The benchmark uses it to
// show what one API request costs; it changes no request and no response.
//
// Calls are recorded into the Counter the middleware was built with and, when
// the call's context carries a Scope (see WithScope), into that scope too, so
// one request's calls can be told apart from background pollers.
package awscount

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Op names one API operation, e.g. {"DynamoDB", "GetItem"}.
type Op struct{ Service, Operation string }

func (o Op) String() string { return o.Service + "." + o.Operation }

// Stat is what was seen of one operation.
type Stat struct {
	Calls int   // operation invocations (an SDK retry is not a new call)
	Items int64 // DynamoDB items read: ScannedCount of Query/Scan, 1 per GetItem hit
}

// Counts is a snapshot of the calls recorded.
type Counts map[Op]Stat

// Calls is the number of calls to service (all of them when service is "").
func (c Counts) Calls(service string) int {
	n := 0
	for op, s := range c {
		if service == "" || op.Service == service {
			n += s.Calls
		}
	}
	return n
}

// Op returns the calls to one operation.
func (c Counts) Op(service, operation string) Stat { return c[Op{service, operation}] }

// Items is the number of DynamoDB items read by all calls.
func (c Counts) Items() int64 {
	var n int64
	for _, s := range c {
		n += s.Items
	}
	return n
}

// Writes counts DynamoDB calls that write (PutItem, UpdateItem, DeleteItem,
// TransactWriteItems, BatchWriteItem).
func (c Counts) Writes() int {
	n := 0
	for op, s := range c {
		if op.Service == dynamodb.ServiceID && isWrite(op.Operation) {
			n += s.Calls
		}
	}
	return n
}

func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
		return true
	}
	return false
}

// String lists the operations in a stable order: "DynamoDB.GetItem×1 SQS.SendMessage×1".
func (c Counts) String() string {
	ops := make([]Op, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s×%d", op, c[op].Calls))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Counter accumulates counts; the zero value is ready to use.
type Counter struct {
	mu     sync.Mutex
	counts Counts
}

func (c *Counter) add(op Op, items int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = Counts{}
	}
	s := c.counts[op]
	s.Calls++
	s.Items += items
	c.counts[op] = s
}

// Snapshot returns a copy of the counts so far.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(Counts, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// Reset forgets everything counted so far.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.counts = nil
	c.mu.Unlock()
}

type scopeKey struct{}

// WithScope returns a context whose SDK calls are also counted in a fresh
// Counter, and that Counter.
func WithScope(ctx context.Context) (context.Context, *Counter) {
	sc := &Counter{}
	return context.WithValue(ctx, scopeKey{}, sc), sc
}

// Option adds the counting middleware to an SDK configuration.
func (c *Counter) Option() func(*aws.Config) {
	return func(cfg *aws.Config) { cfg.APIOptions = append(cfg.APIOptions, c.Register) }
}

// Register adds the counting middleware to one operation's stack. It sits at
// the end of the Initialize step, which runs once per call (retries happen
// later, in Finalize), after the SDK has put the service and operation names
// in the context.
func (c *Counter) Register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awscount",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			op := Op{awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)}
			items := itemsRead(out.Result)
			c.add(op, items)
			if sc, ok := ctx.Value(scopeKey{}).(*Counter); ok {
				sc.add(op, items)
			}
			return out, md, err
		}), middleware.After)
}

// itemsRead is what DynamoDB reports it read (ScannedCount counts items read
// before any filter, which is what a read costs).
func itemsRead(result any) int64 {
	switch r := result.(type) {
	case *dynamodb.QueryOutput:
		return int64(r.ScannedCount)
	case *dynamodb.ScanOutput:
		return int64(r.ScannedCount)
	case *dynamodb.GetItemOutput:
		if r.Item != nil {
			return 1
		}
	case *dynamodb.BatchGetItemOutput:
		var n int64
		for _, items := range r.Responses {
			n += int64(len(items))
		}
		return n
	}
	return 0
}

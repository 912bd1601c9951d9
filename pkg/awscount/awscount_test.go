package awscount_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/awscount"
)

// cannedHTTP answers every request with the next body in bodies (the last one
// repeats), after first failing `fail` times with a retryable 500.
type cannedHTTP struct {
	bodies []string
	fail   int32
	seen   atomic.Int32
}

func (c *cannedHTTP) Do(*http.Request) (*http.Response, error) {
	n := c.seen.Add(1)
	status, body := 200, ""
	if n <= c.fail {
		status, body = 500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`
	} else {
		i := min(int(n-c.fail)-1, len(c.bodies)-1)
		body = c.bodies[i]
	}
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}, nil
}

func client(c *awscount.Counter, h *cannedHTTP) *dynamodb.Client {
	cfg := aws.Config{
		Region: "us-east-1", HTTPClient: h,
		Credentials:  aws.AnonymousCredentials{},
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
	}
	c.Option()(&cfg)
	return dynamodb.NewFromConfig(cfg)
}

func TestCountsCallsItemsAndScopes(t *testing.T) {
	var c awscount.Counter
	h := &cannedHTTP{bodies: []string{
		`{"Item":{"PK":{"S":"a"}}}`,
		`{"Items":[{"PK":{"S":"a"}}],"Count":1,"ScannedCount":3}`,
		`{}`,
	}}
	db := client(&c, h)
	ctx, scope := awscount.WithScope(context.Background())
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "a"}}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	// Outside the scope: counted globally only.
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key}); err != nil {
		t.Fatal(err)
	}

	all, sc := c.Snapshot(), scope.Snapshot()
	tests := []struct {
		name      string
		got, want any
	}{
		{"global calls", all.Calls(""), 3},
		{"global writes", all.Writes(), 1},
		{"GetItem", all.Op("DynamoDB", "GetItem"), awscount.Stat{Calls: 1, Items: 1}},
		{"Query items are ScannedCount", all.Op("DynamoDB", "Query"), awscount.Stat{Calls: 1, Items: 3}},
		{"scope calls", sc.Calls("DynamoDB"), 2},
		{"scope writes", sc.Writes(), 0},
		{"scope items", sc.Items(), int64(4)},
		{"scope string", sc.String(), "DynamoDB.GetItem×1 DynamoDB.Query×1"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	c.Reset()
	if n := c.Snapshot().Calls(""); n != 0 {
		t.Errorf("after Reset: %d calls", n)
	}
}

func TestRetryIsOneCall(t *testing.T) {
	var c awscount.Counter
	h := &cannedHTTP{bodies: []string{`{}`}, fail: 1}
	db := client(&c, h)
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "a"}}
	if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if got := h.seen.Load(); got != 2 {
		t.Fatalf("HTTP attempts: got %d, want 2 (one retry)", got)
	}
	if got := c.Snapshot().Op("DynamoDB", "GetItem"); got != (awscount.Stat{Calls: 1}) {
		t.Errorf("got %+v, want one call and no item (a miss)", got)
	}
}

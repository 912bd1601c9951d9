package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// TestAPIGatewayEvents feeds the real API Gateway v2 payloads in events/
// through the same adapter the Lambdas use.
func TestAPIGatewayEvents(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_events")
	load := func(name string) events.APIGatewayV2HTTPRequest {
		raw, err := os.ReadFile("../../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		ev.Headers["x-api-key"] = key
		return ev
	}
	invoke := func(route string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		h, err := c.app.Route(route)
		if err != nil {
			t.Fatal(err)
		}
		res, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if res.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%s: headers %v", route, res.Headers)
		}
		return res
	}

	res := invoke("create-deployment", load("apigw-v2-create-deployment.json"))
	if res.StatusCode != 202 || !strings.Contains(res.Body, `"operation_id":"op_`) {
		t.Fatalf("create: %d %s", res.StatusCode, res.Body)
	}
	if res.Headers["X-Request-Id"] != "Cz7mWhJ8DoEEMbQ=" {
		t.Fatalf("request id should be API Gateway's: %v", res.Headers)
	}
	var created struct {
		Data struct {
			DeploymentID string `json:"deployment_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal([]byte(res.Body), &created)

	res = invoke("list-deployments", load("apigw-v2-list-deployments.json"))
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"name":"My Superset"`) || !strings.Contains(res.Body, `"per_page":50,"total":1`) {
		t.Fatalf("list: %d %s", res.StatusCode, res.Body)
	}

	ev := load("apigw-v2-get-deployment.json")
	res = invoke("get-deployment", ev)
	if res.StatusCode != 404 || !strings.Contains(res.Body, "DEPLOYMENT_NOT_FOUND") {
		t.Fatalf("get unknown: %d %s", res.StatusCode, res.Body)
	}
	ev.RawPath = "/api/v1/deployments/" + created.Data.DeploymentID
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.PathParameters["deployment_id"] = created.Data.DeploymentID
	res = invoke("get-deployment", ev)
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"status":"provisioning"`) {
		t.Fatalf("get: %d %s", res.StatusCode, res.Body)
	}

	// A Lambda serves only its own route.
	if res := invoke("get-operation", load("apigw-v2-list-deployments.json")); res.StatusCode != 405 && res.StatusCode != 404 {
		t.Fatalf("foreign route served: %d", res.StatusCode)
	}
}

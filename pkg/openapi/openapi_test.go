package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/httpapi"
	"github.com/onvera/deployments/pkg/openapi"
	"github.com/onvera/deployments/pkg/openapi/yamljson"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	return doc
}

// The document and the route table describe the same endpoints: every route
// is one operation whose operationId is the route's name and whose security
// requirement names the route's scope (none for a public route), and nothing else.
func TestDocumentMatchesRouteTable(t *testing.T) {
	doc := load(t)
	want := map[string]httpapi.Route{}
	for _, rt := range httpapi.Routes {
		want[rt.Method+" "+rt.Path] = rt
	}
	got := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			got[key] = true
			rt, ok := want[key]
			if !ok {
				t.Errorf("document has %s, the route table does not", key)
				continue
			}
			if op.OperationID != rt.Name {
				t.Errorf("%s: operationId %q, route name %q", key, op.OperationID, rt.Name)
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			var scopes []string
			for _, req := range sec {
				for scheme, sc := range req {
					if scheme != "ApiKeyAuth" {
						t.Errorf("%s: unknown security scheme %q", key, scheme)
					}
					scopes = append(scopes, sc...)
				}
			}
			switch {
			case rt.Scope == "" && len(sec) != 0:
				t.Errorf("%s: public route, but the document requires %v", key, sec)
			case rt.Scope != "" && !slices.Equal(scopes, []string{string(rt.Scope)}):
				t.Errorf("%s: document scopes %v, route scope %q", key, scopes, rt.Scope)
			}
			if rt.Scope != "" {
				for _, status := range []int{401, 403, 429} {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s: authenticated route without a %d response", key, status)
					}
				}
			}
			if op.Responses.Status(500) == nil {
				t.Errorf("%s: no 500 response", key)
			}
		}
	}
	for key := range want {
		if !got[key] {
			t.Errorf("route %s (%s) is missing from openapi.yaml", key, want[key].Name)
		}
	}
}

// errorCodes returns the codes a documented error response allows: its schema
// is allOf [Error, {properties.error.properties.code.enum: [...]}].
func errorCodes(t *testing.T, where string, r *openapi3.Response) []string {
	mt := r.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		t.Errorf("%s: no application/json schema", where)
		return nil
	}
	var codes []string
	for _, part := range mt.Schema.Value.AllOf {
		if part.Ref != "" {
			continue // the shared Error envelope, which allows every code
		}
		e := part.Value.Properties["error"]
		if e == nil || e.Value.Properties["code"] == nil {
			continue
		}
		for _, c := range e.Value.Properties["code"].Value.Enum {
			codes = append(codes, fmt.Sprint(c))
		}
	}
	if len(codes) == 0 {
		t.Errorf("%s: error response does not narrow error.code", where)
	}
	return codes
}

// Every apierr code is documented under its own HTTP status, every documented
// code exists, and the ErrorCode enum is exactly the vocabulary.
func TestEveryErrorCodeDocumented(t *testing.T) {
	doc := load(t)
	var vocab []string
	for _, c := range apierr.Codes() {
		vocab = append(vocab, string(c))
	}
	sort.Strings(vocab)

	var enum []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	sort.Strings(enum)
	if !slices.Equal(enum, vocab) {
		t.Errorf("ErrorCode enum %v, apierr vocabulary %v", enum, vocab)
	}

	documented := map[string]bool{} // "status code"
	check := func(where, status string, r *openapi3.Response) {
		n, err := strconv.Atoi(status)
		if err != nil || n < 400 {
			return
		}
		for _, c := range errorCodes(t, where+" "+status, r) {
			if got := apierr.StatusOf(apierr.Code(c)); got != n || !slices.Contains(vocab, c) {
				t.Errorf("%s %s documents %s, which apierr answers with %d", where, status, c, got)
			}
			documented[status+" "+c] = true
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, r := range op.Responses.Map() {
				check(method+" "+path, status, r.Value)
			}
		}
	}
	// 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED answer paths and methods the
	// document does not list, so they live in components.responses.
	for name, r := range doc.Components.Responses {
		for _, c := range errorCodes(t, name, r.Value) {
			documented[strconv.Itoa(apierr.StatusOf(apierr.Code(c)))+" "+c] = true
		}
	}
	for _, c := range vocab {
		if !documented[strconv.Itoa(apierr.StatusOf(apierr.Code(c)))+" "+c] {
			t.Errorf("error code %s (HTTP %d) is not documented", c, apierr.StatusOf(apierr.Code(c)))
		}
	}
}

// The served JSON is the YAML, converted without loss.
func TestJSONIsTheYAML(t *testing.T) {
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", v["openapi"])
	}
	paths, _ := v["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths in the served JSON")
	}
	if _, err := yamljson.ToJSON([]byte("responses:\n  200: {description: ok}\n")); err == nil {
		t.Error("an unquoted integer key converted silently; want an error")
	}
	src, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := yamljson.ToJSON(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, want) {
		t.Fatal("pkg/openapi/openapi.json is out of date with openapi.yaml: run make openapi")
	}
}

package client_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/client"
	"github.com/onvera/deployments/pkg/openapi"
)

// TestTypesCoverTheContract: the client keeps its own types (it imports only
// the standard library), so this ties them to the served OpenAPI document:
// every property of a response schema has a field, and every error code has
// a constant.
func TestTypesCoverTheContract(t *testing.T) {
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
				Enum       []string       `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"Deployment": client.Deployment{}, "Operation": client.Operation{}, "OperationError": client.OperationError{},
		"OperationProgress": client.Progress{}, "DeploymentAccepted": client.Accepted{}, "Pagination": client.Pagination{},
		"DeploymentList": client.DeploymentPage{}, "CreateDeploymentRequest": client.CreateDeploymentRequest{},
	}
	for schema, v := range types {
		props := doc.Components.Schemas[schema].Properties
		if len(props) == 0 {
			t.Errorf("schema %s has no properties in the document", schema)
		}
		tags := map[string]bool{}
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tags[strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]] = true
		}
		for p := range props {
			if !tags[p] {
				t.Errorf("client.%s has no field for %s.%s", rt.Name(), schema, p)
			}
		}
	}
	codes := []string{
		client.CodeInvalidRequest, client.CodeInvalidAPIKey, client.CodeInsufficientScope, client.CodeNotFound,
		client.CodeDeploymentNotFound, client.CodeOperationNotFound, client.CodeMethodNotAllowed,
		client.CodeDeploymentDestroyed, client.CodeConflict, client.CodePayloadTooLarge,
		client.CodeUnsupportedMediaType, client.CodeIdempotencyKeyReused, client.CodeRateLimited, client.CodeInternal,
	}
	for _, c := range apierr.Codes() {
		if !slices.Contains(codes, string(c)) {
			t.Errorf("no client constant for error code %s", c)
		}
	}
}

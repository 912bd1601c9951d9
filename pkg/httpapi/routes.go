// Package httpapi is the public HTTP API: the route table, authentication,
// request decoding, the JSON envelopes and the handlers. The same handlers
// serve one route per Lambda behind API Gateway and every route in the local
// gateway.
package httpapi

import (
	"net/http"

	"github.com/onvera/deployments/pkg/apikey"
)

// Route is one endpoint. Name is also the function's directory under
// functions/ and its Lambda's logical name in the stack.
type Route struct {
	Name   string
	Method string
	Path   string       // ServeMux and API Gateway share the {param} syntax
	Scope  apikey.Scope // required scope; empty for a public route
	handle func(*Server, http.ResponseWriter, *http.Request) error
}

// Pattern is the ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Routes is the route table: the single source for the Lambdas, the local
// gateway and the CDK stack.
var Routes = []Route{
	{Name: "create-deployment", Method: http.MethodPost, Path: "/api/v1/deployments", Scope: apikey.ScopeWrite, handle: (*Server).createDeployment},
	{Name: "list-deployments", Method: http.MethodGet, Path: "/api/v1/deployments", Scope: apikey.ScopeRead, handle: (*Server).listDeployments},
	{Name: "get-deployment", Method: http.MethodGet, Path: "/api/v1/deployments/{deployment_id}", Scope: apikey.ScopeRead, handle: (*Server).getDeployment},
	{Name: "delete-deployment", Method: http.MethodDelete, Path: "/api/v1/deployments/{deployment_id}", Scope: apikey.ScopeWrite, handle: (*Server).deleteDeployment},
	{Name: "get-operation", Method: http.MethodGet, Path: "/api/v1/operations/{operation_id}", Scope: apikey.ScopeRead, handle: (*Server).getOperation},
	{Name: "get-openapi", Method: http.MethodGet, Path: "/api/v1/openapi.json", Scope: "", handle: (*Server).getOpenAPI},
}

// RouteNamed returns the route with the given name.
func RouteNamed(name string) (Route, bool) {
	for _, r := range Routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

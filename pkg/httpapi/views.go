package httpapi

import (
	"time"

	"github.com/onvera/deployments/pkg/deployment"
)

// The JSON shapes of the public contract, field order as documented.

type deploymentView struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	AppType       string          `json:"app_type"`
	Status        string          `json:"status"`
	URL           *string         `json:"url"`
	EnvironmentID string          `json:"environment_id"`
	CreatedAt     string          `json:"created_at"`
	Links         deploymentLinks `json:"links"`
}

type deploymentLinks struct {
	Self      string  `json:"self"`
	Operation *string `json:"operation"`
}

type operationView struct {
	ID           string               `json:"id"`
	Type         string               `json:"type"`
	Status       string               `json:"status"`
	DeploymentID string               `json:"deployment_id"`
	CreatedAt    string               `json:"created_at"`
	UpdatedAt    string               `json:"updated_at"`
	CompletedAt  *string              `json:"completed_at"`
	Error        *deployment.OpError  `json:"error"`
	Progress     *deployment.Progress `json:"progress"`
	Links        operationLinks       `json:"links"`
}

type operationLinks struct {
	Self       string `json:"self"`
	Deployment string `json:"deployment"`
}

type listView struct {
	Items      []deploymentView `json:"items"`
	Pagination paginationView   `json:"pagination"`
}

type paginationView struct {
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
	Pages   int64 `json:"pages"`
}

type createdView struct {
	DeploymentID string      `json:"deployment_id"`
	OperationID  string      `json:"operation_id"`
	Links        createLinks `json:"links"`
}

type createLinks struct {
	Deployment string `json:"deployment"`
	Operation  string `json:"operation"`
}

type deletedView struct {
	OperationID string      `json:"operation_id"`
	Links       deleteLinks `json:"links"`
}

type deleteLinks struct {
	Operation  string `json:"operation"`
	Deployment string `json:"deployment"`
}

const (
	deploymentsPath = "/api/v1/deployments/"
	operationsPath  = "/api/v1/operations/"
)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func viewDeployment(d deployment.Deployment) deploymentView {
	v := deploymentView{
		ID: d.ID, Name: d.Name, AppType: string(d.AppType), Status: string(d.Status),
		EnvironmentID: d.EnvironmentID, CreatedAt: rfc3339(d.CreatedAt),
		Links: deploymentLinks{Self: deploymentsPath + d.ID},
	}
	if d.URL != "" && d.Status == deployment.Ready {
		v.URL = &d.URL
	}
	if d.OperationID != "" {
		op := operationsPath + d.OperationID
		v.Links.Operation = &op
	}
	return v
}

func viewOperation(o deployment.Operation) operationView {
	v := operationView{
		ID: o.ID, Type: string(o.Type), Status: string(o.Status), DeploymentID: o.DeploymentID,
		CreatedAt: rfc3339(o.CreatedAt), UpdatedAt: rfc3339(o.UpdatedAt), Error: o.Error, Progress: o.Progress,
		Links: operationLinks{Self: operationsPath + o.ID, Deployment: deploymentsPath + o.DeploymentID},
	}
	if !o.CompletedAt.IsZero() {
		c := rfc3339(o.CompletedAt)
		v.CompletedAt = &c
	}
	return v
}

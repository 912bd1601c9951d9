// Package cfn is the cloudformation provisioning driver: each deployment is
// its own CloudFormation stack. It lives apart from package provision so that
// only the provisioner links the CloudFormation client.
package cfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/provision"
	"github.com/onvera/deployments/pkg/provision/cfn/templates"
)

// API is the part of the CloudFormation client the driver uses.
type API interface {
	CreateStack(context.Context, *cloudformation.CreateStackInput, ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error)
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	ListStackResources(context.Context, *cloudformation.ListStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
	DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
}

// Driver stands each deployment up as its own stack, named
// onvera-<deployment id>, from the template of its app type. It never waits:
// each call looks at the stack once and says when to look again.
type Driver struct {
	Client     API
	Templates  map[deployment.AppType]string // template bodies (JSON)
	Parameters map[string]string             // stack parameters beyond the per-deployment ones
	RoleARN    string                        // service role CloudFormation acts as; empty: the caller's rights
	BaseDomain string
	Poll       time.Duration // re-check interval
	Timeout    time.Duration // give up on a stack after this long
	Now        func() time.Time

	totals map[deployment.AppType]int
}

// Stack tags and parameters every template receives.
const (
	TagOrganization = "onvera:organization"
	TagDeployment   = "onvera:deployment"
	OutputURL       = "Url"
)

// NewCloudFormation validates the templates and counts their resources for progress reports.
func New(c Driver) (*Driver, error) {
	c.totals = map[deployment.AppType]int{}
	for app, body := range c.Templates {
		var tpl struct {
			Resources map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(body), &tpl); err != nil || len(tpl.Resources) == 0 {
			return nil, fmt.Errorf("template for %s: not a CloudFormation JSON template (%v)", app, err)
		}
		c.totals[app] = len(tpl.Resources)
	}
	if c.Poll <= 0 {
		c.Poll = 15 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Hour
	}
	return &c, nil
}

var _ provision.Driver = (*Driver)(nil)

// StackName is the deployment's stack.
func StackName(d deployment.Deployment) string { return "onvera-" + d.ID }

func (c *Driver) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// describe returns the stack, or nil when there is none.
func (c *Driver) describe(ctx context.Context, name string) (*cfntypes.Stack, error) {
	out, err := c.Client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	var api smithy.APIError
	// CloudFormation answers ValidationError for a stack that does not exist;
	// the name is ours and well-formed, so that is the only cause here (the
	// SDK's own StackExists waiter matches the same code).
	if errors.As(err, &api) && api.ErrorCode() == "ValidationError" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

func (c *Driver) timedOut(op deployment.Operation) bool {
	return c.now().Sub(op.UpdatedAt) > c.Timeout
}

// Provision creates the stack, then reports its progress until it completes
// (URL from the Url output) or fails (reason from the stack's events, and
// the stack is deleted so nothing is left running).
func (c *Driver) Provision(ctx context.Context, d deployment.Deployment, op deployment.Operation) (provision.Result, error) {
	tpl, ok := c.Templates[d.AppType]
	if !ok {
		return provision.Result{Failure: &deployment.OpError{Code: deployment.OpErrProvisionFailed, Message: "No template for app type " + string(d.AppType)}}, nil
	}
	name := StackName(d)
	st, err := c.describe(ctx, name)
	if err != nil {
		return provision.Result{}, err
	}
	if st == nil {
		if c.timedOut(op) {
			return c.fail(ctx, name, op, "Timed out before the stack could be created")
		}
		in := &cloudformation.CreateStackInput{
			StackName: aws.String(name), TemplateBody: aws.String(tpl),
			Parameters:         c.parameters(d),
			Tags:               []cfntypes.Tag{{Key: aws.String(TagOrganization), Value: aws.String(d.OrgID)}, {Key: aws.String(TagDeployment), Value: aws.String(d.ID)}},
			OnFailure:          cfntypes.OnFailureDoNothing, // keep the events to report; we delete it ourselves
			ClientRequestToken: token(op, ""),
			Capabilities:       []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		}
		if c.RoleARN != "" {
			in.RoleARN = aws.String(c.RoleARN)
		}
		if _, err := c.Client.CreateStack(ctx, in); err != nil {
			var exists *cfntypes.AlreadyExistsException
			var api smithy.APIError
			switch {
			case errors.As(err, &exists): // a duplicate task got there first: fine
			case errors.As(err, &api) && (api.ErrorCode() == "ValidationError" || api.ErrorCode() == "InsufficientCapabilitiesException"):
				// The template or its parameters are wrong: retrying cannot help.
				return provision.Result{Failure: &deployment.OpError{Code: deployment.OpErrProvisionFailed, Message: "Stack rejected: " + api.ErrorMessage()}}, nil
			default:
				return provision.Result{}, fmt.Errorf("create stack: %w", err)
			}
		}
		return provision.Result{RetryAfter: c.Poll, Progress: &deployment.Progress{Step: "CREATE_STACK", ResourcesTotal: c.totals[d.AppType]}}, nil
	}
	switch status := st.StackStatus; {
	case status == cfntypes.StackStatusCreateComplete:
		for _, o := range st.Outputs {
			if aws.ToString(o.OutputKey) == OutputURL {
				return provision.Result{Done: true, URL: aws.ToString(o.OutputValue)}, nil
			}
		}
		return provision.Result{Done: true, URL: deployment.URLFor(d, c.BaseDomain)}, nil
	case status == cfntypes.StackStatusCreateInProgress:
		if c.timedOut(op) {
			return c.fail(ctx, name, op, fmt.Sprintf("Timed out after %s while the stack was being created", c.Timeout))
		}
		p, err := c.progress(ctx, name, string(status), d.AppType, cfntypes.ResourceStatusCreateComplete)
		if err != nil {
			return provision.Result{}, err
		}
		return provision.Result{RetryAfter: c.Poll, Progress: p}, nil
	case strings.HasSuffix(string(status), "_FAILED") || strings.HasPrefix(string(status), "ROLLBACK_") || strings.HasPrefix(string(status), "DELETE_"):
		reason, err := c.failureReason(ctx, name)
		if err != nil {
			return provision.Result{}, err
		}
		return c.fail(ctx, name, op, reason)
	default:
		return provision.Result{RetryAfter: c.Poll, Progress: &deployment.Progress{Step: string(status), ResourcesTotal: c.totals[d.AppType]}}, nil
	}
}

// fail starts deleting the stack (cleanup) and reports a permanent failure.
func (c *Driver) fail(ctx context.Context, name string, op deployment.Operation, reason string) (provision.Result, error) {
	if _, err := c.Client.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name), ClientRequestToken: token(op, "-cleanup")}); err != nil {
		return provision.Result{}, fmt.Errorf("cleanup: %w", err)
	}
	return provision.Result{Failure: &deployment.OpError{Code: deployment.OpErrProvisionFailed, Message: reason}}, nil
}

// Destroy deletes the stack and reports progress until it is gone.
func (c *Driver) Destroy(ctx context.Context, d deployment.Deployment, op deployment.Operation) (provision.Result, error) {
	name := StackName(d)
	st, err := c.describe(ctx, name)
	if err != nil {
		return provision.Result{}, err
	}
	if st == nil || st.StackStatus == cfntypes.StackStatusDeleteComplete {
		return provision.Result{Done: true}, nil
	}
	switch st.StackStatus {
	case cfntypes.StackStatusDeleteInProgress:
		if c.timedOut(op) {
			return provision.Result{Failure: &deployment.OpError{Code: deployment.OpErrDestroyFailed, Message: fmt.Sprintf("Timed out after %s while the stack was being deleted", c.Timeout)}}, nil
		}
		p, err := c.progress(ctx, name, string(st.StackStatus), d.AppType, cfntypes.ResourceStatusDeleteComplete)
		if err != nil {
			return provision.Result{}, err
		}
		return provision.Result{RetryAfter: c.Poll, Progress: p}, nil
	case cfntypes.StackStatusDeleteFailed:
		if c.timedOut(op) {
			reason, err := c.failureReason(ctx, name)
			if err != nil {
				return provision.Result{}, err
			}
			return provision.Result{Failure: &deployment.OpError{Code: deployment.OpErrDestroyFailed, Message: reason}}, nil
		}
	}
	// Anything else (complete, failed, still creating): delete it. A second
	// DeleteStack while one runs is a no-op, so duplicate tasks are harmless.
	in := &cloudformation.DeleteStackInput{StackName: aws.String(name), ClientRequestToken: token(op, "")}
	if c.RoleARN != "" {
		in.RoleARN = aws.String(c.RoleARN)
	}
	if _, err := c.Client.DeleteStack(ctx, in); err != nil {
		return provision.Result{}, fmt.Errorf("delete stack: %w", err)
	}
	return provision.Result{RetryAfter: c.Poll, Progress: &deployment.Progress{Step: "DELETE_STACK", ResourcesTotal: c.totals[d.AppType]}}, nil
}

// token makes CloudFormation treat a duplicate task's call as the same
// request; tokens allow only letters, digits and dashes.
func token(op deployment.Operation, suffix string) *string {
	return aws.String(strings.ReplaceAll(op.ID, "_", "-") + suffix)
}

func (c *Driver) parameters(d deployment.Deployment) []cfntypes.Parameter {
	params := map[string]string{"DeploymentId": d.ID, "OrganizationId": d.OrgID, "Hostname": strings.TrimPrefix(deployment.URLFor(d, c.BaseDomain), "https://")}
	for k, v := range c.Parameters {
		params[k] = v
	}
	out := make([]cfntypes.Parameter, 0, len(params))
	for k, v := range params {
		out = append(out, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	return out
}

// progress counts the stack's resources that reached done.
func (c *Driver) progress(ctx context.Context, name, step string, app deployment.AppType, done cfntypes.ResourceStatus) (*deployment.Progress, error) {
	p := &deployment.Progress{Step: step, ResourcesTotal: c.totals[app]}
	pages := cloudformation.NewListStackResourcesPaginator(c.Client, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.StackResourceSummaries {
			if r.ResourceStatus == done {
				p.ResourcesDone++
			}
		}
	}
	return p, nil
}

// failureReason is the first resource failure in the stack's events: the
// cause, not the cascade of cancellations after it.
func (c *Driver) failureReason(ctx context.Context, name string) (string, error) {
	out, err := c.Client.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	if err != nil {
		return "", err
	}
	reason := ""
	for _, e := range out.StackEvents { // newest first: the last match is the earliest
		if !strings.HasSuffix(string(e.ResourceStatus), "_FAILED") || aws.ToString(e.ResourceStatusReason) == "" ||
			aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" || strings.Contains(aws.ToString(e.ResourceStatusReason), "Resource creation cancelled") {
			continue
		}
		reason = fmt.Sprintf("%s (%s): %s", aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), aws.ToString(e.ResourceStatusReason))
	}
	if reason == "" {
		for _, e := range out.StackEvents {
			if aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" && aws.ToString(e.ResourceStatusReason) != "" {
				return "Stack failed: " + aws.ToString(e.ResourceStatusReason), nil
			}
		}
		return "Stack failed without a reported reason", nil
	}
	return reason, nil
}

// Factory builds the driver from configuration and the embedded templates;
// it has the shape of app.DriverFactory.
func Factory(cfg config.Config, awsCfg aws.Config) (provision.Driver, error) {
	tpl, err := templates.For()
	if err != nil {
		return nil, err
	}
	return New(Driver{
		Client: cloudformation.NewFromConfig(awsCfg), Templates: tpl, Parameters: cfg.CFNParameters,
		RoleARN: cfg.CFNRoleARN, BaseDomain: cfg.BaseDomain, Poll: cfg.ProvisionPoll, Timeout: cfg.ProvisionTimeout,
	})
}

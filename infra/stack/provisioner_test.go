package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/onvera/deployments/pkg/config"
)

var cfnCtx = map[string]any{
	"stage": "dev", "driver": DriverCloudFormation,
	"deploymentCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
	"deploymentHostedZoneId":   "Z0123456789ABCDEFGHIJ",
}

// statements returns the Allow statements of the policies attached to a role, as JSON.
func statements(t *testing.T, tp template, roleID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, pol := range tp.ofType("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(pol.Properties["Roles"]) {
			attached = attached || ref(r) == roleID
		}
		if !attached {
			continue
		}
		for _, s := range list(pol.Properties["PolicyDocument"].(map[string]any)["Statement"]) {
			if st := s.(map[string]any); st["Effect"] == "Allow" {
				out = append(out, st)
			}
		}
	}
	return out
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestCloudFormationDriverGrants: with driver=cloudformation the provisioner
// may only run onvera-* stacks and pass the deployment role, and that role
// holds explicit actions with IAM and logs scoped to onvera-* names.
func TestCloudFormationDriverGrants(t *testing.T) {
	s := synth(t, cfnCtx)
	tp := s.JSON
	fnID := tp.functionID(t, ProvisionerName)
	roleID := ref(s.Stack.Stack.Resolve(s.Stack.Provisioner.DeploymentRole.RoleArn()))
	if roleID == "" {
		t.Fatal("no deployment role")
	}

	var cfn, pass bool
	for _, st := range statements(t, tp, ref(tp.Resources[fnID].Properties["Role"])) {
		acts := []string{}
		for _, a := range list(st["Action"]) {
			acts = append(acts, a.(string))
		}
		slices.Sort(acts)
		res := jsonOf(st["Resource"])
		switch {
		case slices.Contains(acts, "cloudformation:CreateStack"):
			cfn = true
			if fmt.Sprint(acts) != fmt.Sprint(StackActions) ||
				res != `{"Fn::Sub":"arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/onvera-*/*"}` {
				t.Errorf("stack statement %v on %s", acts, res)
			}
		case slices.Contains(acts, "iam:PassRole"):
			pass = true
			if len(acts) != 1 || ref(st["Resource"]) != roleID ||
				jsonOf(st["Condition"]) != `{"StringEquals":{"iam:PassedToService":"cloudformation.amazonaws.com"}}` {
				t.Errorf("pass role statement %s", jsonOf(st))
			}
		default:
			for _, a := range acts {
				if strings.HasPrefix(a, "cloudformation:") || strings.HasPrefix(a, "iam:") {
					t.Errorf("unexpected provisioner grant %s on %s", a, res)
				}
			}
		}
	}
	if !cfn || !pass {
		t.Errorf("provisioner: stack actions %v, pass role %v", cfn, pass)
	}
	env := jsonOf(tp.Resources[fnID].Properties["Environment"])
	if !strings.Contains(env, `"`+config.EnvCFNRoleARN+`":{"Fn::GetAtt":["`+roleID+`","Arn"]}`) ||
		!strings.Contains(env, `"`+config.EnvCFNParameters+`":"{\"CertificateArn\":\"`+cfnCtx["deploymentCertificateArn"].(string)+`\",\"HostedZoneId\":\"`+cfnCtx["deploymentHostedZoneId"].(string)+`\"}"`) ||
		!strings.Contains(env, `"`+config.EnvDriver+`":"cloudformation"`) {
		t.Errorf("provisioner environment %s", env)
	}

	// The deployment role: CloudFormation only, explicit actions, IAM and logs by name prefix.
	role := tp.Resources[roleID]
	if !strings.Contains(jsonOf(role.Properties["AssumeRolePolicyDocument"]), `"Service":"cloudformation.amazonaws.com"`) ||
		role.Properties["ManagedPolicyArns"] != nil {
		t.Errorf("deployment role %s", jsonOf(role.Properties))
	}
	for _, st := range statements(t, tp, roleID) {
		res := jsonOf(st["Resource"])
		for _, a := range list(st["Action"]) {
			a := a.(string)
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %s", a)
			}
			svc := strings.SplitN(a, ":", 2)[0]
			switch {
			case svc == "iam" && a != "iam:CreateServiceLinkedRole" && !strings.Contains(res, ":role/onvera-*"):
				t.Errorf("%s on %s: roles must be onvera-*", a, res)
			case a == "iam:PassRole" && jsonOf(st["Condition"]) != `{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`:
				t.Errorf("iam:PassRole condition %s", jsonOf(st["Condition"]))
			case svc == "logs" && a != "logs:DescribeLogGroups" && !strings.Contains(res, "log-group:onvera-*"):
				t.Errorf("%s on %s: log groups must be onvera-*", a, res)
			case slices.Contains([]string{"cloudformation", "dynamodb", "sqs", "lambda", "s3", "kms"}, svc):
				t.Errorf("deployment role needs no %s", a)
			}
		}
	}
	check(t, "no cdk-nag findings", func() {
		ann := assertions.Annotations_FromStack(s.Stack.Stack)
		if n := len(*ann.FindError(str("*"), assertions.Match_StringLikeRegexp(str("AwsSolutions-.*")))); n > 0 {
			panic(fmt.Sprintf("%d cdk-nag errors: %v", n, *ann.FindError(str("*"), assertions.Match_StringLikeRegexp(str("AwsSolutions-.*")))))
		}
	})
}

// TestSimulatedDriverHasNoCloudFormationGrants: the default driver gets no role and no stack rights.
func TestSimulatedDriverHasNoCloudFormationGrants(t *testing.T) {
	s := synth(t, devCtx)
	if s.Stack.Provisioner.DeploymentRole != nil {
		t.Error("deployment role with the simulated driver")
	}
	if raw := jsonOf(s.JSON.Resources); strings.Contains(raw, "cloudformation:") || strings.Contains(raw, config.EnvCFNRoleARN) {
		t.Error("cloudformation grants or settings with the simulated driver")
	}
}

func TestCloudFormationDriverSettings(t *testing.T) {
	s := DefaultSettings()
	s.Driver = DriverCloudFormation
	if err := s.Validate(); err == nil {
		t.Error("driver=cloudformation without deploymentCertificateArn accepted")
	}
	s.DeploymentCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/x"
	if err := s.Validate(); err == nil {
		t.Error("driver=cloudformation without deploymentHostedZoneId accepted")
	}
	s.DeploymentHostedZoneID = "Z0123456789ABCDEFGHIJ"
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	s.Driver = "terraform"
	if err := s.Validate(); err == nil {
		t.Error("unknown driver accepted")
	}
}

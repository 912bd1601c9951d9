package stack

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/onvera/deployments/pkg/config"
)

// Function names under functions/ that are not routes.
const (
	ProvisionerName = "provisioner"
	ReconcilerName  = "reconciler"
)

// ReconcileEveryMinutes is the reconciler's schedule.
const ReconcileEveryMinutes = 1

// Provisioner is the queue consumer and the reconciler that re-enqueues lost tasks.
type Provisioner struct {
	constructs.Construct
	Function   awslambda.Function
	Reconciler awslambda.Function
	// DeploymentRole is the service role CloudFormation acts as for
	// deployment stacks (driver=cloudformation only).
	DeploymentRole awsiam.Role
}

// NewProvisioner wires the provisioner to the main queue and to the DLQ
// (records from the DLQ, recognised by config.EnvDLQARN, end their operation
// as failed), both with batching and partial batch failures, and runs the
// reconciler on a schedule. With driver=cloudformation it also gets the
// deployment role (grantCloudFormation).
func NewProvisioner(scope constructs.Construct, id string, f *lambdaFactory, q *Queue) *Provisioner {
	c := constructs.NewConstruct(scope, str(id))
	// GetItem/UpdateItem for single steps, transactions of Updates to finish an
	// operation; SendMessage to re-deliver an unfinished task with a delay.
	fn := f.function(c, ProvisionerName, ProvisionerTimeoutSeconds, Access{
		Table: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Send: true,
	})
	for _, queue := range []awssqs.IQueue{q.Main, q.DLQ} {
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               num(ProvisionBatchSize),
			MaxBatchingWindow:       seconds(ProvisionBatchWindowSecs),
			ReportBatchItemFailures: boolean(true),
		}))
	}
	// Query on the InFlight index, UpdateItem to move the deadline, SendMessage to re-enqueue.
	rec := f.function(c, ReconcilerName, ReconcilerTimeoutSeconds, Access{
		Table: []string{"dynamodb:Query", "dynamodb:UpdateItem"}, Send: true,
	})
	awsevents.NewRule(c, str("Schedule"), &awsevents.RuleProps{
		Description: str("runs the reconciler"),
		Schedule:    awsevents.Schedule_Rate(minutes(ReconcileEveryMinutes)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(rec, nil)},
	})
	p := &Provisioner{Construct: c, Function: fn, Reconciler: rec}
	if f.s.Driver == DriverCloudFormation {
		p.DeploymentRole = grantCloudFormation(p, f.s)
	}
	return p
}

// StackActions are the CloudFormation calls of pkg/provision's driver, allowed
// on deployment stacks (onvera-<deployment id>) only.
var StackActions = []string{"cloudformation:CreateStack", "cloudformation:DeleteStack", "cloudformation:DescribeStackEvents",
	"cloudformation:DescribeStacks", "cloudformation:ListStackResources"}

// DeploymentStackActions are what CloudFormation, as the deployment role,
// needs to create, tag and delete the resources of infra/apps' templates:
// explicit actions, no service wildcards. Keyed by what they act on.
var DeploymentStackActions = map[string][]string{
	// EC2, ELBv2, ECS and RDS create calls cannot be scoped to resources that
	// do not exist yet (their ids/ARNs are generated): Resource "*".
	"*": {
		"ec2:CreateVpc", "ec2:DeleteVpc", "ec2:DescribeVpcs", "ec2:ModifyVpcAttribute", "ec2:DescribeVpcAttribute",
		"ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:DescribeSubnets", "ec2:ModifySubnetAttribute",
		"ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:DescribeRouteTables", "ec2:CreateRoute", "ec2:DeleteRoute",
		"ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
		"ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:DescribeInternetGateways",
		"ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
		"ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups",
		"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
		"ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
		"ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeAvailabilityZones", "ec2:DescribeAccountAttributes", "ec2:DescribeNetworkInterfaces",
		"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DescribeLoadBalancers",
		"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes",
		"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DescribeTargetGroups",
		"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroupAttributes",
		"elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:DescribeListeners",
		"elasticloadbalancing:ModifyListener", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:DescribeTags",
		"ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters",
		"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition",
		"ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices", "ecs:TagResource", "ecs:UntagResource",
		"rds:CreateDBInstance", "rds:DeleteDBInstance", "rds:DescribeDBInstances", "rds:ModifyDBInstance",
		"rds:CreateDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:DescribeDBSubnetGroups", "rds:ModifyDBSubnetGroup",
		"rds:AddTagsToResource", "rds:RemoveTagsFromResource", "rds:ListTagsForResource", "rds:DescribeDBEngineVersions",
		"secretsmanager:GetRandomPassword", "logs:DescribeLogGroups",
	},
	// Secrets (names are CloudFormation-generated, not stack-prefixed): this account and region.
	"secret": {
		"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret",
		"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:TagResource", "secretsmanager:UntagResource",
	},
	// Log groups are named <stack name>-...: onvera-*.
	"logGroup": {"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
		"logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:ListTagsForResource"},
	// The task and execution roles are named <stack name>-...: onvera-*.
	"role": {"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
		"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:GetRolePolicy"},
}

// grantCloudFormation lets the provisioner run deployment stacks: the
// driver's stack calls on onvera-* stacks, and passing (only) the deployment
// role, which holds what the templates need. ONVERA_CFN_ROLE_ARN and
// ONVERA_CFN_PARAMETERS (CertificateArn, HostedZoneId) tell the driver.
func grantCloudFormation(p *Provisioner, s Settings) awsiam.Role {
	arn := func(service, resource string) *string {
		return awscdk.Fn_Sub(str("arn:${AWS::Partition}:"+service+":${AWS::Region}:${AWS::AccountId}:"+resource), nil)
	}
	iamARN := func(resource string) *string {
		return awscdk.Fn_Sub(str("arn:${AWS::Partition}:iam::${AWS::AccountId}:"+resource), nil)
	}
	role := awsiam.NewRole(p.Construct, str("DeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(str("cloudformation.amazonaws.com"), nil),
		Description: str("CloudFormation creates and deletes deployment stacks (onvera-*) as this role"),
	})
	allow := func(actions []string, resources ...*string) {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: strs(actions...), Resources: &resources}))
	}
	allow(DeploymentStackActions["*"], str("*"))
	allow(DeploymentStackActions["secret"], arn("secretsmanager", "secret:*"))
	allow(DeploymentStackActions["logGroup"], arn("logs", "log-group:onvera-*"))
	allow(DeploymentStackActions["role"], iamARN("role/onvera-*"))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs("iam:PassRole"), Resources: &[]*string{iamARN("role/onvera-*")},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	}))
	// First use of ECS, ELB or RDS in an account creates their service-linked roles.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs("iam:CreateServiceLinkedRole"), Resources: &[]*string{iamARN("role/aws-service-role/*")},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": []string{
			"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com"}}},
	}))

	fn := p.Function
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs(StackActions...), Resources: &[]*string{arn("cloudformation", "stack/onvera-*/*")},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs("iam:PassRole"), Resources: &[]*string{role.RoleArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cloudformation.amazonaws.com"}},
	}))
	// Each stack adds (and on delete removes) its hostname's alias record in
	// the base domain's zone, and nothing else in Route 53.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   strs("route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetHostedZone"),
		Resources: &[]*string{awscdk.Fn_Sub(str("arn:${AWS::Partition}:route53:::hostedzone/"+s.DeploymentHostedZoneID), nil)},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs("route53:GetChange"), Resources: &[]*string{awscdk.Fn_Sub(str("arn:${AWS::Partition}:route53:::change/*"), nil)},
	}))
	params, _ := json.Marshal(map[string]string{"CertificateArn": s.DeploymentCertificateARN, "HostedZoneId": s.DeploymentHostedZoneID})
	fn.AddEnvironment(str(config.EnvCFNRoleARN), role.RoleArn(), nil)
	fn.AddEnvironment(str(config.EnvCFNParameters), str(string(params)), nil)

	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		sup("AwsSolutions-IAM5",
			"Creating VPCs, subnets, security groups, load balancers, ECS clusters/services and RDS instances cannot be "+
				"scoped to resources whose ids do not exist yet; the actions are listed one by one, no service wildcards.",
			&cdknag.RegexAppliesTo{Regex: str(`/^Resource::\*$/g`)}),
		sup("AwsSolutions-IAM5",
			"Route 53 change ids are generated per change; GetChange only reads a change's status.",
			&cdknag.RegexAppliesTo{Regex: str(`/^Resource::arn:<AWS::Partition>:route53:::change\/\*$/g`)}),
		sup("AwsSolutions-IAM5",
			"Deployment stacks' log groups and roles are named after their stack (onvera-<id>-...); secrets get generated "+
				"names, so they are scoped to this account and region.",
			&cdknag.RegexAppliesTo{Regex: str(`/^Resource::arn:<AWS::Partition>:(logs:<AWS::Region>:<AWS::AccountId>:log-group:onvera-\*|secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:\*|iam::<AWS::AccountId>:role\/onvera-\*|iam::<AWS::AccountId>:role\/aws-service-role\/\*)$/g`)}),
	}, boolean(true))
	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{
		sup("AwsSolutions-IAM5",
			"The provisioner manages deployment stacks only: onvera-<deployment id>, whose ids are created at run time.",
			&cdknag.RegexAppliesTo{Regex: str(`/^Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack\/onvera-\*\/\*$/g`)}),
	}, boolean(true))
	return role
}

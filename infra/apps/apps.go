// Package apps defines, with CDK constructs, the CloudFormation template of a
// deployment stack for each app type: the app on ECS Fargate behind an HTTPS
// Application Load Balancer, its PostgreSQL metadata database on RDS, its
// credentials in Secrets Manager, all in a VPC of its own. `make templates`
// (go run ./infra/apps/gen) synthesizes them into pkg/provision/cfn/templates,
// which the cloudformation driver embeds; nothing here needs a bootstrapped
// account or assets.
//
// Every stack takes the parameters the driver passes (DeploymentId,
// OrganizationId, Hostname) plus CertificateArn (from ONVERA_CFN_PARAMETERS),
// and outputs Url = https://<Hostname>.
package apps

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/provision/cfn"
)

// Parameter names. The first three come from the driver for every
// deployment; CertificateArn and HostedZoneId come from ONVERA_CFN_PARAMETERS.
const (
	ParamDeploymentID   = "DeploymentId"
	ParamOrganizationID = "OrganizationId"
	ParamHostname       = "Hostname"
	ParamCertificateARN = "CertificateArn"
	ParamHostedZoneID   = "HostedZoneId"
)

// Sizing shared by both apps. t4g.micro (2 vCPU burst, 1 GiB) holds a
// metadata database of one small deployment; 20 GiB gp3 is RDS's minimum.
const (
	DBInstanceClass = "t4g.micro"
	DBStorageGiB    = 20
	DBBackupDays    = 7
	LogRetention    = awslogs.RetentionDays_ONE_MONTH
	AdminUser       = "admin"
	VPCCidr         = "10.0.0.0/16" // every deployment has its own VPC, so they may all use the same range
)

// App describes what differs between app types.
type App struct {
	Type        deployment.AppType
	Image       string  // pinned official image
	Port        float64 // the web container's port
	HealthPath  string  // ALB health check
	CPU, Memory float64 // Fargate task size (CPU units, MiB)
	// Containers adds the app's containers to the task; the first one named
	// "web" receives the load balancer's traffic.
	Containers func(c *Context)
}

// Context is what an app's containers get wired to.
type Context struct {
	Scope    constructs.Construct
	Task     awsecs.FargateTaskDefinition
	Logs     awslogs.LogGroup
	DB       awsrds.DatabaseInstance
	Admin    awssecretsmanager.Secret // JSON {"username","password"}
	AppKey   awssecretsmanager.Secret // the app's session/signing key
	Hostname *string
	App      *App
}

// DBSecrets are the metadata database's connection parts as ECS secrets
// (fields of the generated RDS secret), for a start script to assemble.
func (c *Context) DBSecrets() map[string]awsecs.Secret {
	f := func(field string) awsecs.Secret { return awsecs.Secret_FromSecretsManager(c.DB.Secret(), str(field)) }
	return map[string]awsecs.Secret{
		"DB_USER": f("username"), "DB_PASSWORD": f("password"), "DB_HOST": f("host"), "DB_PORT": f("port"), "DB_NAME": f("dbname"),
	}
}

// Logging sends a container's output to the stack's log group.
func (c *Context) Logging(prefix string) awsecs.LogDriver {
	return awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{LogGroup: c.Logs, StreamPrefix: str(prefix)})
}

// Apps are the app types with a deployment stack.
var Apps = []*App{Airflow, Superset}

// Synthesizer: the template is handed to CloudFormation as a body by the
// driver, so it must not reference a bootstrap bucket, SSM parameter or roles.
func synthesizer() awscdk.IStackSynthesizer {
	return awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{})
}

// NewApp is a CDK app that writes no metadata a template body does not need.
func NewApp(outdir string) awscdk.App {
	ctx := map[string]any{
		"aws:cdk:enable-path-metadata":         false,
		"aws:cdk:enable-asset-metadata":        false,
		"aws:cdk:version-reporting":            false,
		"@aws-cdk/core:newStyleStackSynthesis": true,
	}
	return awscdk.NewApp(&awscdk.AppProps{Outdir: str(outdir), Context: &ctx, AnalyticsReporting: jsii.Bool(false)})
}

// NewStack declares the deployment stack of one app type.
func NewStack(scope constructs.Construct, a *App) awscdk.Stack {
	st := awscdk.NewStack(scope, str("onvera-"+string(a.Type)), &awscdk.StackProps{
		Synthesizer: synthesizer(),
		Description: str(fmt.Sprintf("Onvera deployment: %s (%s) on ECS Fargate, RDS PostgreSQL, HTTPS ALB", a.Type, a.Image)),
	})
	param := func(name, desc, pattern string) *string {
		p := awscdk.NewCfnParameter(st, str(name), &awscdk.CfnParameterProps{
			Type: str("String"), Description: str(desc), AllowedPattern: str(pattern),
		})
		return p.ValueAsString()
	}
	deploymentID := param(ParamDeploymentID, "deployment id (tags)", `^[A-Za-z0-9_-]{1,64}$`)
	orgID := param(ParamOrganizationID, "organization id (tags)", `^[A-Za-z0-9_.-]{1,128}$`)
	hostname := param(ParamHostname, "public host name, e.g. airflow.550e8400e29b.onvera.io", `^[a-z0-9.-]{1,253}$`)
	certARN := param(ParamCertificateARN, "ACM certificate for Hostname, same region", `^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$`)
	zoneID := param(ParamHostedZoneID, "Route 53 hosted zone of the base domain; Hostname gets an alias record there", `^Z[A-Z0-9]{1,32}$`)
	awscdk.Tags_Of(st).Add(str(cfn.TagOrganization), orgID, nil)
	awscdk.Tags_Of(st).Add(str(cfn.TagDeployment), deploymentID, nil)
	awscdk.Tags_Of(st).Add(str("onvera:app"), str(string(a.Type)), nil)

	// One VPC per deployment (see infra/README.md): public subnets for the
	// load balancer and the tasks (public IPs, so no NAT gateway per
	// deployment), isolated subnets for the database.
	vpc := awsec2.NewVpc(st, str("Vpc"), &awsec2.VpcProps{
		IpAddresses: awsec2.IpAddresses_Cidr(str(VPCCidr)),
		MaxAzs:      num(2), NatGateways: num(0), RestrictDefaultSecurityGroup: jsii.Bool(false),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: str("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: num(24), MapPublicIpOnLaunch: jsii.Bool(false)},
			{Name: str("db"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: num(24)},
		},
	})

	// Security groups. Every rule is written inline (a peer given by id or
	// CIDR), so no separate SecurityGroupIngress/Egress resources: the load
	// balancer takes 80/443 from anywhere and may only reach the VPC on the
	// app port; the tasks take the app port from the load balancer only;
	// the database takes 5432 from the tasks only.
	sg := func(id, desc string, allOut bool) awsec2.SecurityGroup {
		return awsec2.NewSecurityGroup(st, str(id), &awsec2.SecurityGroupProps{Vpc: vpc, Description: str(desc), AllowAllOutbound: jsii.Bool(allOut)})
	}
	port := awsec2.Port_Tcp(num(a.Port))
	albSG := sg("LoadBalancerSecurityGroup", "load balancer: 80/443 in, app port to the VPC out", false)
	albSG.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(num(443)), str("HTTPS"), nil)
	albSG.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(num(80)), str("HTTP, redirected to HTTPS"), nil)
	albSG.AddEgressRule(awsec2.Peer_Ipv4(str(VPCCidr)), port, str("to the tasks"), nil)
	// Tasks reach Docker Hub (images) and AWS APIs (Secrets Manager, Logs) over the internet gateway.
	taskSG := sg("TaskSecurityGroup", "app tasks: app port from the load balancer", true)
	taskSG.AddIngressRule(awsec2.Peer_SecurityGroupId(albSG.SecurityGroupId(), nil), port, str("from the load balancer"), nil)
	dbSG := sg("DatabaseSecurityGroup", "metadata database: 5432 from the tasks", false)
	dbSG.AddIngressRule(awsec2.Peer_SecurityGroupId(taskSG.SecurityGroupId(), nil), awsec2.Port_Tcp(num(5432)), str("from the tasks"), nil)

	// Metadata database: encrypted, credentials generated into Secrets
	// Manager, deleted with the deployment (no final snapshot: destroying a
	// deployment removes everything; automated backups cover mistakes while
	// it lives).
	dbName := string(a.Type)
	db := awsrds.NewDatabaseInstance(st, str("Database"), &awsrds.DatabaseInstanceProps{
		Engine:       awsrds.DatabaseInstanceEngine_Postgres(&awsrds.PostgresInstanceEngineProps{Version: awsrds.PostgresEngineVersion_VER_16()}),
		InstanceType: awsec2.NewInstanceType(str(DBInstanceClass)),
		Vpc:          vpc, VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		SecurityGroups: &[]awsec2.ISecurityGroup{dbSG},
		Credentials: awsrds.Credentials_FromGeneratedSecret(str(dbName), &awsrds.CredentialsBaseOptions{
			// The password goes into a connection URL: letters and digits only.
			ExcludeCharacters: str(" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
		}),
		DatabaseName:     str(dbName),
		AllocatedStorage: num(DBStorageGiB), StorageType: awsrds.StorageType_GP3, StorageEncrypted: jsii.Bool(true),
		MultiAz: jsii.Bool(false), PubliclyAccessible: jsii.Bool(false),
		BackupRetention: awscdk.Duration_Days(num(DBBackupDays)), DeleteAutomatedBackups: jsii.Bool(true),
		AutoMinorVersionUpgrade: jsii.Bool(true), DeletionProtection: jsii.Bool(false),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	secret := func(id, desc string, gen *awssecretsmanager.SecretStringGenerator) awssecretsmanager.Secret {
		return awssecretsmanager.NewSecret(st, str(id), &awssecretsmanager.SecretProps{
			Description: str(desc), GenerateSecretString: gen, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
	}
	tpl, _ := json.Marshal(map[string]string{"username": AdminUser})
	admin := secret("AdminSecret", "first admin user of the app", &awssecretsmanager.SecretStringGenerator{
		SecretStringTemplate: str(string(tpl)), GenerateStringKey: str("password"), PasswordLength: num(24), ExcludePunctuation: jsii.Bool(true),
	})
	appKey := secret("AppSecretKey", "the app's session signing key", &awssecretsmanager.SecretStringGenerator{
		PasswordLength: num(64), ExcludePunctuation: jsii.Bool(true),
	})

	logs := awslogs.NewLogGroup(st, str("Logs"), &awslogs.LogGroupProps{Retention: LogRetention, RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
	cluster := awsecs.NewCluster(st, str("Cluster"), &awsecs.ClusterProps{Vpc: vpc})
	task := awsecs.NewFargateTaskDefinition(st, str("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu: num(a.CPU), MemoryLimitMiB: num(a.Memory),
	})
	a.Containers(&Context{Scope: st, Task: task, Logs: logs, DB: db, Admin: admin, AppKey: appKey, Hostname: hostname, App: a})

	// HTTPS load balancer; HTTP only redirects.
	alb := awselasticloadbalancingv2.NewApplicationLoadBalancer(st, str("LoadBalancer"), &awselasticloadbalancingv2.ApplicationLoadBalancerProps{
		Vpc: vpc, InternetFacing: jsii.Bool(true), SecurityGroup: albSG,
		VpcSubnets:              &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		DropInvalidHeaderFields: jsii.Bool(true),
	})
	tg := awselasticloadbalancingv2.NewApplicationTargetGroup(st, str("Targets"), &awselasticloadbalancingv2.ApplicationTargetGroupProps{
		Vpc: vpc, TargetType: awselasticloadbalancingv2.TargetType_IP, Port: num(a.Port), Protocol: awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		HealthCheck:         &awselasticloadbalancingv2.HealthCheck{Path: str(a.HealthPath), HealthyHttpCodes: str("200"), Interval: awscdk.Duration_Seconds(num(30))},
		DeregistrationDelay: awscdk.Duration_Seconds(num(30)),
	})
	https := alb.AddListener(str("Https"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
		Port: num(443), Protocol: awselasticloadbalancingv2.ApplicationProtocol_HTTPS, Open: jsii.Bool(false),
		Certificates:        &[]awselasticloadbalancingv2.IListenerCertificate{awselasticloadbalancingv2.ListenerCertificate_FromArn(certARN)},
		SslPolicy:           awselasticloadbalancingv2.SslPolicy_RECOMMENDED_TLS,
		DefaultTargetGroups: &[]awselasticloadbalancingv2.IApplicationTargetGroup{tg},
	})
	alb.AddRedirect(&awselasticloadbalancingv2.ApplicationLoadBalancerRedirectConfig{Open: jsii.Bool(false)})

	svc := awsecs.NewFargateService(st, str("Service"), &awsecs.FargateServiceProps{
		Cluster: cluster, TaskDefinition: task, DesiredCount: num(1),
		AssignPublicIp: jsii.Bool(true), VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		SecurityGroups: &[]awsec2.ISecurityGroup{taskSG},
		// A task that cannot start (bad image, database unreachable) fails
		// the deployment in minutes instead of CloudFormation's 3 hours.
		CircuitBreaker:       &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)},
		MinHealthyPercent:    num(100),
		MaxHealthyPercent:    num(200),
		PropagateTags:        awsecs.PropagatedTagSource_SERVICE,
		EnableECSManagedTags: jsii.Bool(true),
	})
	// Register the web container with the target group directly. The L2
	// attachment would also open the security groups through separate rule
	// resources; the inline rules above already say exactly that.
	cfnSvc := svc.Node().DefaultChild().(awsecs.CfnService)
	cfnSvc.AddPropertyOverride(str("LoadBalancers"), []map[string]any{{
		"ContainerName": "web", "ContainerPort": a.Port, "TargetGroupArn": tg.TargetGroupArn(),
	}})
	cfnSvc.AddPropertyOverride(str("HealthCheckGracePeriodSeconds"), 300)
	svc.Node().AddDependency(https)

	// Hostname -> load balancer, so the deployment's URL reaches it. The
	// record lives and dies with the stack.
	awsroute53.NewCfnRecordSet(st, str("Dns"), &awsroute53.CfnRecordSetProps{
		HostedZoneId: zoneID, Name: hostname, Type: str("A"),
		AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
			DnsName: alb.LoadBalancerDnsName(), HostedZoneId: alb.LoadBalancerCanonicalHostedZoneId(), EvaluateTargetHealth: jsii.Bool(false),
		},
	})

	awscdk.NewCfnOutput(st, str(cfn.OutputURL), &awscdk.CfnOutputProps{
		Description: str("the app's URL"), Value: awscdk.Fn_Join(str(""), &[]*string{str("https://"), hostname}),
	})
	awscdk.NewCfnOutput(st, str("LoadBalancerDns"), &awscdk.CfnOutputProps{
		Description: str("the load balancer Hostname's alias record points at"), Value: alb.LoadBalancerDnsName(),
	})
	awscdk.NewCfnOutput(st, str("AdminSecretArn"), &awscdk.CfnOutputProps{
		Description: str("first admin user's credentials"), Value: admin.SecretArn(),
	})
	return st
}

// Synth synthesizes the stack of one app type into a compact template body.
func Synth(a *App, outdir string) ([]byte, error) {
	app := NewApp(outdir)
	st := NewStack(app, a)
	asm := app.Synth(nil)
	art := asm.GetStackArtifact(st.ArtifactId())
	return json.Marshal(art.Template())
}

// SynthAll synthesizes every app in Apps, keyed by app type, in a temporary
// directory it removes whether it succeeds or not.
func SynthAll() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "onvera-apps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bodies := map[string][]byte{}
	for _, a := range Apps {
		b, err := Synth(a, filepath.Join(dir, string(a.Type)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Type, err)
		}
		bodies[string(a.Type)] = b
	}
	return bodies, nil
}

func str(s string) *string        { return jsii.String(s) }
func num(n float64) *float64      { return jsii.Number(n) }
func strs(s ...string) *[]*string { return jsii.Strings(s...) }

// MaxTemplateBytes is CloudFormation's limit for a TemplateBody.
const MaxTemplateBytes = 51200

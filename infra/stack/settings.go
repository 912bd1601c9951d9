package stack

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/config"
)

// Settings is everything that varies by customer or stage. Each field has a
// context key (cdk.json holds the defaults; `-c key=value` overrides).
type Settings struct {
	Stage            string // context "stage": dev, staging, prod...
	Prod             bool   // stage is in ProdStages, or context "prod"=true: RETAIN + deletion protection
	BaseDomain       string // context "baseDomain": deployment URLs are https://<app>.<id>.<baseDomain>
	CustomDomain     string // context "customDomain": optional API domain (needs certificateArn)
	CertificateARN   string // context "certificateArn": ACM certificate for customDomain, same region
	LogRetentionDays int    // context "logRetentionDays"
	Driver           string // context "driver": provisioning driver
	ProvisionDelay   string // context "provisionDelay": the simulated driver's work time (Go duration)
	// context "deploymentCertificateArn": ACM certificate (same region) the
	// deployment stacks' HTTPS listeners use; required by driver=cloudformation.
	DeploymentCertificateARN string
	// context "deploymentHostedZoneId": Route 53 zone of baseDomain where each
	// deployment stack adds its hostname's alias; required by driver=cloudformation.
	DeploymentHostedZoneID string
	Tracing                bool   // context "tracing": X-Ray on Lambdas
	Arch                   string // context "arch": arm64 on AWS; the host's (amd64/x86_64) on an emulator
	AssetDir               string // context "assetDir": where `make lambdas` put <name>/bootstrap
	AlarmTopicARN          string // context "alarmTopicArn": optional SNS topic the alarms notify
	ThrottleRate           float64
	ThrottleBurst          float64
}

// Provisioning drivers (context "driver").
const (
	DriverSimulated      = "simulated"
	DriverCloudFormation = "cloudformation"
)

// ProdStages get RETAIN and deletion protection without saying so.
var ProdStages = map[string]bool{"prod": true, "production": true}

// DefaultSettings are used for whatever the context does not set.
func DefaultSettings() Settings {
	return Settings{
		Stage: "dev", BaseDomain: config.DefaultBaseDomain, LogRetentionDays: 30,
		Driver: "simulated", ProvisionDelay: "3s", Tracing: true, Arch: "arm64",
		AssetDir: "build", ThrottleRate: 50, ThrottleBurst: 100,
	}
}

// SettingsFromContext reads the settings from the construct tree's context.
func SettingsFromContext(node constructs.Node) (Settings, error) {
	s := DefaultSettings()
	get := func(key string) (string, bool) {
		v := node.TryGetContext(str(key))
		if v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	}
	for key, dst := range map[string]*string{
		"stage": &s.Stage, "baseDomain": &s.BaseDomain, "customDomain": &s.CustomDomain,
		"certificateArn": &s.CertificateARN, "driver": &s.Driver, "provisionDelay": &s.ProvisionDelay,
		"arch": &s.Arch, "assetDir": &s.AssetDir, "alarmTopicArn": &s.AlarmTopicARN,
		"deploymentCertificateArn": &s.DeploymentCertificateARN, "deploymentHostedZoneId": &s.DeploymentHostedZoneID,
	} {
		if v, ok := get(key); ok {
			*dst = v
		}
	}
	s.Prod = ProdStages[s.Stage]
	for key, dst := range map[string]*bool{"prod": &s.Prod, "tracing": &s.Tracing} {
		if v, ok := get(key); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("context %s=%q: %w", key, v, err)
			}
			*dst = b
		}
	}
	for key, dst := range map[string]*float64{"throttleRate": &s.ThrottleRate, "throttleBurst": &s.ThrottleBurst} {
		if v, ok := get(key); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return s, fmt.Errorf("context %s=%q: %w", key, v, err)
			}
			*dst = f
		}
	}
	if v, ok := get("logRetentionDays"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, fmt.Errorf("context logRetentionDays=%q: %w", v, err)
		}
		s.LogRetentionDays = n
	}
	return s, s.Validate()
}

// Validate rejects settings that would synthesize a broken stack.
func (s Settings) Validate() error {
	if s.Stage == "" {
		return fmt.Errorf("stage must not be empty")
	}
	if _, ok := retention[s.LogRetentionDays]; !ok {
		return fmt.Errorf("logRetentionDays=%d is not a CloudWatch Logs retention", s.LogRetentionDays)
	}
	if _, err := s.architecture(); err != nil {
		return err
	}
	if (s.CustomDomain == "") != (s.CertificateARN == "") {
		return fmt.Errorf("customDomain and certificateArn go together")
	}
	switch s.Driver {
	case DriverSimulated:
	case DriverCloudFormation:
		if s.DeploymentCertificateARN == "" {
			return fmt.Errorf("driver=cloudformation needs deploymentCertificateArn (the deployment stacks' HTTPS certificate)")
		}
		if s.DeploymentHostedZoneID == "" {
			return fmt.Errorf("driver=cloudformation needs deploymentHostedZoneId (the Route 53 zone of baseDomain)")
		}
	default:
		return fmt.Errorf("driver=%q: want %s or %s", s.Driver, DriverSimulated, DriverCloudFormation)
	}
	if _, err := time.ParseDuration(s.ProvisionDelay); err != nil {
		return fmt.Errorf("provisionDelay: %w", err)
	}
	return nil
}

func (s Settings) architecture() (awslambda.Architecture, error) {
	switch s.Arch {
	case "arm64":
		return awslambda.Architecture_ARM_64(), nil
	case "amd64", "x86_64":
		return awslambda.Architecture_X86_64(), nil
	}
	return nil, fmt.Errorf("arch=%q: want arm64 or x86_64 (amd64)", s.Arch)
}

// retention maps days to CloudWatch Logs' allowed retention values.
var retention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS,
	365: awslogs.RetentionDays_ONE_YEAR, 731: awslogs.RetentionDays_TWO_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

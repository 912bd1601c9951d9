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
		Driver: DriverSimulated, ProvisionDelay: "3s", Tracing: true, Arch: "arm64",
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
	if err := parseContext(get, strconv.ParseBool, map[string]*bool{"prod": &s.Prod, "tracing": &s.Tracing}); err != nil {
		return s, err
	}
	parseFloat := func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }
	if err := parseContext(get, parseFloat, map[string]*float64{"throttleRate": &s.ThrottleRate, "throttleBurst": &s.ThrottleBurst}); err != nil {
		return s, err
	}
	if err := parseContext(get, strconv.Atoi, map[string]*int{"logRetentionDays": &s.LogRetentionDays}); err != nil {
		return s, err
	}
	return s, s.Validate()
}

// parseContext sets *dst to parse(value) for each key of dsts the context
// has (get), and stops at the first value parse rejects.
func parseContext[T any](get func(string) (string, bool), parse func(string) (T, error), dsts map[string]*T) error {
	for key, dst := range dsts {
		if v, ok := get(key); ok {
			x, err := parse(v)
			if err != nil {
				return fmt.Errorf("context %s=%q: %w", key, v, err)
			}
			*dst = x
		}
	}
	return nil
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

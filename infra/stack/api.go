package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/httpapi"
)

// API is the HTTP API: one route per httpapi.Routes entry, each integrated
// with its own function. Authentication is the API key checked by the
// handlers themselves (hashed keys in the table), as in the local gateway.
type API struct {
	constructs.Construct
	HTTPAPI awsapigatewayv2.HttpApi
	Stage   awsapigatewayv2.HttpStage
	URL     *string // the base URL clients use (custom domain when there is one)
}

// accessLog implements awsapigatewayv2.IAccessLogSettings.
type accessLog struct {
	dest   awsapigatewayv2.IAccessLogDestination
	format awsapigateway.AccessLogFormat
}

func (a *accessLog) Destination() awsapigatewayv2.IAccessLogDestination { return a.dest }
func (a *accessLog) Format() awsapigateway.AccessLogFormat              { return a.format }

// accessLogFormat is one JSON object per request.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path",` +
	`"routeKey":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency",` +
	`"integrationError":"$context.integrationErrorMessage"}`

// NewAPI declares the API, its throttled, access-logged default stage, the
// routes, and the optional custom domain.
func NewAPI(scope constructs.Construct, id string, s Settings, fns *Functions) *API {
	c := constructs.NewConstruct(scope, str(id))
	api := awsapigatewayv2.NewHttpApi(c, str("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        str("Onvera Deployments API (" + s.Stage + ")"),
		CreateDefaultStage: boolean(false),
	})
	logs := awslogs.NewLogGroup(c, str("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention[s.LogRetentionDays],
		RemovalPolicy: s.removalPolicy(),
	})
	stage := awsapigatewayv2.NewHttpStage(c, str("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  str("$default"),
		AutoDeploy: boolean(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit: num(s.ThrottleRate), BurstLimit: num(s.ThrottleBurst),
		},
		AccessLogSettings: &accessLog{
			dest:   awsapigatewayv2.NewLogGroupLogDestination(logs),
			format: awsapigateway.AccessLogFormat_Custom(str(accessLogFormat)),
		},
	})
	for _, r := range httpapi.Routes {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:    str(r.Path),
			Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(str(r.Name), fns.ByRoute[r.Name],
				&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
					PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
				}),
		})
	}
	url := stage.Url()
	if s.CustomDomain != "" {
		domain := awsapigatewayv2.NewDomainName(c, str("Domain"), &awsapigatewayv2.DomainNameProps{
			DomainName:  str(s.CustomDomain),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(c, str("Certificate"), str(s.CertificateARN)),
		})
		awsapigatewayv2.NewApiMapping(c, str("Mapping"), &awsapigatewayv2.ApiMappingProps{
			Api: api, DomainName: domain, Stage: stage,
		})
		url = str("https://" + s.CustomDomain + "/")
		awscdk.NewCfnOutput(scope, str("ApiDomainTarget"), &awscdk.CfnOutputProps{
			Description: str("point a CNAME (or alias) for " + s.CustomDomain + " here"),
			Value:       domain.RegionalDomainName(),
		})
	}
	return &API{Construct: c, HTTPAPI: api, Stage: stage, URL: url}
}
